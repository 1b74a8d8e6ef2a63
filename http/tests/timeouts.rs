//! Per-connection deadlines: header (however the bytes trickle), body
//! read, idle keep-alive, and writes to a client that stopped reading.

mod util;

use bytes::Bytes;
use shardio_http::{Request, Response, Router, Server, Timeouts};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use util::TestServer;

fn server() -> TestServer {
    let timeouts = Timeouts {
        header: Duration::from_millis(300),
        body_read: Duration::from_millis(300),
        idle: Duration::from_millis(300),
        write: Duration::from_millis(300),
    };
    TestServer::with(Server::new().timeouts(timeouts), || {
        Router::new()
            .get("/", |_r: Request| async { "root" })
            .post("/echo", |mut r: Request| async move {
                r.take_body().collect().await
            })
            .get("/big", |_r: Request| async {
                Response::with_body("application/octet-stream", Bytes::from(vec![7u8; 64 << 20]))
            })
    })
}

#[test]
fn a_trickling_head_is_cut_off_at_the_header_deadline() {
    let s = server();
    let mut c = s.connect();
    let start = Instant::now();
    let mut answered = None;
    // One byte every 50 ms would keep any per-read timeout happy.
    for b in b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n" {
        if std::io::Write::write_all(c.reader.get_mut(), &[*b]).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        c.stream().set_nonblocking(true).unwrap();
        let peeked = c.stream().peek(&mut [0]);
        c.stream().set_nonblocking(false).unwrap();
        if peeked.is_ok_and(|n| n > 0) {
            answered = Some(start.elapsed());
            break;
        }
    }
    let when = answered.expect("no answer while trickling");
    assert!(when < Duration::from_millis(1500), "cut off after {when:?}");
    let r = c.reply().unwrap();
    assert_eq!(r.status, 408);
    assert!(c.is_closed());
}

#[test]
fn a_stalled_body_times_out() {
    let s = server();
    let mut c = s.connect();
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    let r = c.reply().unwrap();
    assert_eq!(r.status, 408);
    assert!(c.is_closed());
}

#[test]
fn idle_connections_close_after_the_idle_deadline() {
    let s = server();
    let mut c = s.connect();
    assert_eq!(c.get("/").text(), "root");
    let start = Instant::now();
    assert!(c.is_closed());
    // The deadline (300 ms) is kept to within a tick of the idle sweeper
    // (an eighth of it): never early, not much late.
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "closed early: {waited:?}"
    );
    assert!(waited < Duration::from_secs(2), "closed late: {waited:?}");
    // A connection that never sends anything is closed too.
    let mut quiet = s.connect();
    assert!(quiet.is_closed());
}

#[test]
fn with_a_shorter_write_timeout_the_idle_deadline_still_holds() {
    // The connection first waits with the write deadline, for its answer
    // to go out, then for the rest of the idle timeout.
    let timeouts = Timeouts {
        idle: Duration::from_millis(600),
        write: Duration::from_millis(150),
        ..Timeouts::default()
    };
    let s = TestServer::with(Server::new().timeouts(timeouts), || {
        Router::new().get("/", |_r: Request| async { "root" })
    });
    let mut c = s.connect();
    assert_eq!(c.get("/").text(), "root");
    let start = Instant::now();
    assert!(c.is_closed());
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(550),
        "closed early: {waited:?}"
    );
    assert!(waited < Duration::from_secs(2), "closed late: {waited:?}");
}

#[test]
fn a_client_that_stops_reading_is_dropped() {
    let s = server();
    let mut c = s.connect();
    c.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    // Read nothing for a while: the server's write stalls and times out.
    std::thread::sleep(Duration::from_millis(1500));
    let mut total = 0usize;
    let mut buf = vec![0; 1 << 20];
    loop {
        match c.reader.get_mut().read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
    assert!(
        total < 64 << 20,
        "the whole body arrived ({total} bytes): no write deadline"
    );
}

#[test]
fn a_drain_still_drops_a_client_that_stopped_reading_at_the_write_deadline() {
    let timeouts = Timeouts {
        write: Duration::from_millis(300),
        ..Timeouts::default()
    };
    let server = Server::new()
        .timeouts(timeouts)
        .grace(Duration::from_secs(30));
    let mut s = TestServer::with(server, || {
        Router::new().get("/big", |_r: Request| async {
            Response::with_body("application/octet-stream", Bytes::from(vec![7u8; 64 << 20]))
        })
    });
    let mut c = s.connect();
    c.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    std::thread::sleep(Duration::from_millis(100));
    // The write is under way and stalled; the drain waits for it, but
    // not for the whole grace period.
    let start = Instant::now();
    s.stop();
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "the drain waited {took:?} for a stalled write (write timeout 300 ms)"
    );
    drop(c);
}

/// The body of each answer in a burst: small enough to be copied into the
/// connection's output buffer, so that a burst of [`BURST`] of them leaves
/// in one send that the connection does not wait for.
const SMALL: usize = 15 << 10;
/// Requests in one write: their answers stay under the size at which the
/// output buffer is sent before more requests are parsed.
const BURST: usize = 4;

/// A server that closes idle connections late and stalled writes soon.
fn write_sooner_than_idle() -> TestServer {
    let timeouts = Timeouts {
        idle: Duration::from_secs(30),
        write: Duration::from_millis(300),
        ..Timeouts::default()
    };
    TestServer::with(Server::new().timeouts(timeouts), || {
        Router::new().get("/small", |_r: Request| async {
            Response::with_body("application/octet-stream", Bytes::from(vec![7u8; SMALL]))
        })
    })
}

/// A client with the smallest receive buffer and segments: the server's
/// send buffer is sized from the segment size, so that one burst's answers
/// overfill both.
fn narrow_client(addr: SocketAddr) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.set_recv_buffer_size(1).unwrap();
    s.set_tcp_mss(88).unwrap();
    s.connect(&addr.into()).unwrap();
    s.into()
}

fn send_burst(c: &mut TcpStream) {
    let burst = "GET /small HTTP/1.1\r\nHost: t\r\n\r\n".repeat(BURST);
    c.write_all(burst.as_bytes()).unwrap();
}

/// Reads until the server closes, for at most a few seconds: how many
/// bytes came, and whether the end was a close (not the read timeout).
fn read_to_close(c: &mut TcpStream) -> (usize, bool) {
    c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut total = 0;
    let mut buf = vec![0; 64 << 10];
    loop {
        match c.read(&mut buf) {
            Ok(0) => return (total, true),
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (total, true),
            Err(_) => return (total, false),
        }
    }
}

#[test]
fn a_client_that_stops_reading_is_dropped_while_its_connection_waits() {
    // The burst's answers go out while the connection waits for the next
    // request; the client reads none of them, and the send stalls. The
    // write deadline, not the (long) idle one, ends the connection.
    let s = write_sooner_than_idle();
    let mut c = narrow_client(s.addr);
    send_burst(&mut c);
    assert_cut_off_at_write_deadline(&mut c, "every answer arrived: the send never stalled");
}

#[test]
fn a_burst_after_a_stalled_one_waits_for_it_only_until_the_write_deadline() {
    let s = write_sooner_than_idle();
    let mut c = narrow_client(s.addr);
    send_burst(&mut c);
    std::thread::sleep(Duration::from_millis(100));
    // The first burst's answers are stalled; the second's may not pass them.
    send_burst(&mut c);
    assert_cut_off_at_write_deadline(&mut c, "answers after a stalled send arrived");
}

/// Past the write deadline (plus room for a slow host), the connection of
/// a client that read nothing is closed, and not every answer was sent.
fn assert_cut_off_at_write_deadline(c: &mut TcpStream, what: &str) {
    std::thread::sleep(Duration::from_millis(1500));
    let (total, closed) = read_to_close(c);
    assert!(
        closed,
        "still open after the write deadline ({total} bytes read)"
    );
    assert!(total < BURST * SMALL, "{what} ({total} bytes)");
}

#[test]
fn a_client_that_closes_its_side_after_asking_still_gets_every_answer() {
    // The burst's answers are still being sent when the client's end of
    // stream arrives: the connection finishes sending, then closes.
    let s = write_sooner_than_idle();
    let mut c = narrow_client(s.addr);
    send_burst(&mut c);
    c.shutdown(std::net::Shutdown::Write).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let (total, closed) = read_to_close(&mut c);
    assert!(closed);
    assert!(
        total > BURST * SMALL,
        "the answers were cut short at {total} bytes"
    );
}
