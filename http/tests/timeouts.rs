//! Per-connection deadlines: header (however the bytes trickle), body
//! read, idle keep-alive, and writes to a client that stopped reading.

mod util;

use bytes::Bytes;
use shardio_http::{Request, Response, Router, Server, Timeouts};
use std::io::Read;
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
