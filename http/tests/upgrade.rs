//! Switching protocols (`101`, RFC 9110 §7.8): the connection is handed to
//! the handler's task with the bytes that came after the request, only
//! when the request asked for it, and it closes when that task lets go.

mod util;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use shardio_http::{OnUpgrade, Request, Response, Router, Server};
use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::io::Read;
use std::net::Shutdown;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};
use util::{Client, TestServer};

thread_local! {
    /// Why each `OnUpgrade` of the server's thread failed.
    static FAILURES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// An echo protocol on the handed-over connection: every chunk comes back,
/// or `draining` once the server is shutting down (then it lets go).
fn echo(on_upgrade: OnUpgrade) {
    shardio::spawn_detached(async move {
        let mut conn = match on_upgrade.await {
            Ok(conn) => conn,
            Err(e) => return FAILURES.with(|f| f.borrow_mut().push(e.to_string())),
        };
        while let Ok(Some(chunk)) = conn.read().await {
            let draining = conn.is_draining();
            let sent = if draining {
                conn.write_all("draining").await.0
            } else {
                // The received bytes go back out without a copy.
                conn.write_all(chunk).await.0
            };
            if sent.is_err() || draining {
                break;
            }
        }
    });
}

/// A protocol that arms a read, leaves it unpolled while the client's
/// bytes arrive, and drops it (as a lost `select!` or a timeout does);
/// then reads again, and echoes what that read gives, or says it is lost.
async fn given_up_read(on_upgrade: OnUpgrade) {
    let Ok(mut conn) = on_upgrade.await else {
        return;
    };
    {
        let mut read = pin!(conn.read());
        let armed = poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx).is_pending())).await;
        assert!(armed, "nothing was sent yet");
        shardio::time::sleep(Duration::from_millis(500)).await;
    }
    let answer = match shardio::time::timeout(Duration::from_secs(3), conn.read()).await {
        Ok(Ok(Some(chunk))) => chunk.to_vec(),
        other => format!("lost: {other:?}").into_bytes(),
    };
    let _ = conn.write_all(answer).await;
}

/// An echo protocol that races each read against the server's drain, and
/// says goodbye when the drain wins.
async fn wind_down(on_upgrade: OnUpgrade) {
    let Ok(mut conn) = on_upgrade.await else {
        return;
    };
    let mut draining = pin!(conn.draining());
    loop {
        let read = {
            let read = pin!(conn.read());
            match select(read, draining.as_mut()).await {
                Either::Left((read, _)) => read,
                Either::Right(_) => break,
            }
        };
        let Ok(Some(chunk)) = read else {
            return;
        };
        if conn.write_all(chunk).await.0.is_err() {
            return;
        }
    }
    // Once started, it stays started.
    assert!(conn.is_draining());
    conn.draining().await;
    let _ = conn.write_all("goodbye").await;
}

/// An echo protocol in two tasks: one reads and passes each chunk on, the
/// other greets the client first, while the reader waits, then echoes.
async fn split_echo(on_upgrade: OnUpgrade) {
    let Ok(conn) = on_upgrade.await else {
        return;
    };
    let (mut reader, mut writer) = conn.split();
    let (tx, mut rx) = futures_channel::mpsc::unbounded();
    shardio::spawn_detached(async move {
        while let Ok(Some(chunk)) = reader.read().await {
            if tx.unbounded_send(chunk).is_err() {
                return;
            }
        }
        // The client closed: the reader half drops, and the channel ends.
    });
    shardio::time::sleep(Duration::from_millis(50)).await;
    if writer.write_all("hello\n").await.0.is_err() {
        return;
    }
    while let Some(chunk) = rx.next().await {
        if writer.write_all(chunk).await.0.is_err() {
            return;
        }
    }
}

/// Sends more than the client takes, gives the write up after a while,
/// and tries to write again.
async fn cut_write(on_upgrade: OnUpgrade) {
    let Ok(conn) = on_upgrade.await else {
        return;
    };
    let big = vec![b'x'; 32 << 20];
    let cut = shardio::time::timeout(Duration::from_millis(200), conn.write_all(big)).await;
    assert!(cut.is_err(), "the client reads nothing yet");
    let (after, _) = conn.write_all("after").await;
    if let Err(e) = after {
        FAILURES.with(|f| f.borrow_mut().push(format!("after the cut: {e}")));
    }
}

/// A `101` whose connection `protocol` takes over, in a task of its own.
fn run<F: Future<Output = ()> + 'static>(
    req: &Request,
    protocol: impl FnOnce(OnUpgrade) -> F,
) -> Response {
    let (res, on_upgrade) = Response::upgrade(req, "echo");
    shardio::spawn_detached(protocol(on_upgrade));
    res
}

async fn switch(req: Request) -> Response {
    if req.upgrade() != Some("echo") {
        return Response::error(426).with_header("upgrade", "echo");
    }
    let (res, on_upgrade) = Response::upgrade(&req, "echo");
    echo(on_upgrade);
    res
}

fn router() -> Router {
    Router::new()
        .get("/", |_r: Request| async { "root" })
        .get("/echo", switch)
        .post("/echo", switch)
        .get("/always", |req: Request| async move {
            // Switches whatever the request asked.
            let (res, on_upgrade) = Response::upgrade(&req, "echo");
            echo(on_upgrade);
            res
        })
        .get("/unwatched", |req: Request| async move {
            // Nobody waits for the connection.
            Response::upgrade(&req, "echo").0
        })
        .get("/bare-101", |_r: Request| async { Response::new(101) })
        .get("/upgrade-as-200", |req: Request| async move {
            let (res, on_upgrade) = Response::upgrade(&req, "echo");
            echo(on_upgrade);
            res.with_status(200)
        })
        .get("/given-up-read", |req: Request| async move {
            run(&req, given_up_read)
        })
        .get(
            "/wind-down",
            |req: Request| async move { run(&req, wind_down) },
        )
        .get(
            "/split",
            |req: Request| async move { run(&req, split_echo) },
        )
        .get(
            "/cut-write",
            |req: Request| async move { run(&req, cut_write) },
        )
        .get("/failures", |_r: Request| async {
            FAILURES.with(|f| f.borrow().join("\n"))
        })
}

const ASK: &str = "Connection: Upgrade\r\nUpgrade: echo\r\n";

/// Reads exactly `n` bytes after a reply.
fn read_n(c: &mut Client, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    c.reader.read_exact(&mut buf).unwrap();
    buf
}

fn switched(c: &mut Client) {
    let r = c.reply().expect("a 101");
    assert_eq!(r.status, 101, "{r:?}");
    assert_eq!(r.header("upgrade"), Some("echo"));
    assert_eq!(r.header("connection"), Some("upgrade"));
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.header("transfer-encoding"), None);
}

#[test]
fn an_upgrade_hands_over_the_connection_with_the_bytes_after_the_request() {
    for multishot in [false, true] {
        let s = TestServer::with(Server::new().multishot_receive(multishot), router);
        let mut c = s.connect();
        // The first bytes of the new protocol come in the same write.
        c.send(format!("GET /echo HTTP/1.1\r\nHost: t\r\n{ASK}\r\nearly"));
        switched(&mut c);
        assert_eq!(read_n(&mut c, 5), b"early", "multishot {multishot}");
        for i in 0..50 {
            let msg = format!("message {i}; not HTTP: GET / HTTP/1.1\r\n\r\n");
            c.send(&msg);
            assert_eq!(read_n(&mut c, msg.len()), msg.as_bytes());
        }
        // The client ends its side: the protocol lets go, the server closes.
        c.stream().shutdown(Shutdown::Write).unwrap();
        assert!(c.is_closed(), "multishot {multishot}");
        // The server still speaks HTTP on other connections.
        assert_eq!(s.connect().get("/").text(), "root");
    }
}

#[test]
fn requests_before_an_upgrade_are_answered_first() {
    let s = TestServer::start(router);
    let mut c = s.connect();
    c.send(format!(
        "GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /echo HTTP/1.1\r\nHost: t\r\n{ASK}\r\nGET / HTTP/1.1\r\n\r\n"
    ));
    assert_eq!(c.reply().unwrap().text(), "root");
    switched(&mut c);
    // What followed the upgrade request is the new protocol's, not HTTP.
    let after = b"GET / HTTP/1.1\r\n\r\n";
    assert_eq!(read_n(&mut c, after.len()), after);
}

#[test]
fn the_request_body_is_read_before_the_switch() {
    let s = TestServer::start(router);
    let mut c = s.connect();
    // The handler does not read the body: it is skipped, and only what
    // follows it reaches the protocol.
    c.send(format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\n{ASK}Content-Length: 4\r\n\r\nbodyafter"
    ));
    switched(&mut c);
    assert_eq!(read_n(&mut c, 5), b"after");
    c.send("more");
    assert_eq!(read_n(&mut c, 4), b"more");
}

#[test]
fn only_a_request_that_asks_is_switched() {
    let s = TestServer::start(router);
    // The handler sees no upgrade asked for, and says which it offers.
    for fields in [
        "Upgrade: echo\r\n",
        "Connection: upgrade\r\n",
        "Connection: keep-alive\r\nUpgrade: echo\r\n",
        "Connection: upgrade\r\nUpgrade: \r\n",
    ] {
        let mut c = s.connect();
        c.send(format!("GET /echo HTTP/1.1\r\nHost: t\r\n{fields}\r\n"));
        let r = c.reply().unwrap();
        assert_eq!(r.status, 426, "{fields:?}");
        assert_eq!(r.header("upgrade"), Some("echo"));
        // Still HTTP.
        assert_eq!(c.get("/").text(), "root");
    }
    // HTTP/1.0 cannot switch.
    let mut c = s.connect();
    c.send(format!("GET /echo HTTP/1.0\r\n{ASK}\r\n"));
    assert_eq!(c.reply().unwrap().status, 426);
    // The option may come among others, in any case.
    let mut c = s.connect();
    c.send(
        "GET /echo HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, UPGRADE\r\nUpgrade: echo\r\n\r\n",
    );
    switched(&mut c);
}

#[test]
fn a_switch_the_request_did_not_ask_for_is_a_500_that_closes() {
    let s = TestServer::start(router);
    let mut c = s.connect();
    c.send("GET /always HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(r.status, 500);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.is_closed(), "nothing after it is answered");
    // A `101` that hands nothing over is refused the same way.
    let mut c = s.connect();
    c.send(format!("GET /bare-101 HTTP/1.1\r\nHost: t\r\n{ASK}\r\n"));
    assert_eq!(c.reply().unwrap().status, 500);
    assert!(c.is_closed());
    // And a handoff whose status was changed.
    let mut c = s.connect();
    c.send(format!(
        "GET /upgrade-as-200 HTTP/1.1\r\nHost: t\r\n{ASK}\r\n"
    ));
    assert_eq!(c.reply().unwrap().status, 500);
    assert!(c.is_closed());
    // The handler's future said why.
    let failures = s.connect().get("/failures").text();
    assert!(failures.contains("did not ask"), "{failures}");
    assert!(failures.contains("other than 101"), "{failures}");
}

#[test]
fn a_connection_nobody_takes_closes_after_the_101() {
    let s = TestServer::start(router);
    let mut c = s.connect();
    c.send(format!("GET /unwatched HTTP/1.1\r\nHost: t\r\n{ASK}\r\n"));
    assert_eq!(c.reply().unwrap().status, 101);
    assert!(c.is_closed());
}

#[test]
fn an_upgraded_connection_counts_against_the_maximum_until_it_closes() {
    let s = TestServer::with(Server::new().max_connections(1), router);
    let mut c = s.connect();
    c.send(format!("GET /echo HTTP/1.1\r\nHost: t\r\n{ASK}\r\n"));
    switched(&mut c);
    // The second connection waits in the backlog while the first is open.
    let mut waiting = s.connect();
    waiting
        .stream()
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    waiting.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut b = [0u8; 1];
    let err = waiting.reader.get_mut().read(&mut b).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    // Once the upgraded connection closes, it is served.
    c.stream().shutdown(Shutdown::Write).unwrap();
    assert!(c.is_closed());
    waiting
        .stream()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(waiting.reply().unwrap().text(), "root");
}

#[test]
fn a_graceful_shutdown_waits_for_an_upgraded_connection_and_tells_it() {
    let s = TestServer::with(Server::new().grace(Duration::from_secs(20)), router);
    let mut c = s.connect();
    c.send(format!("GET /echo HTTP/1.1\r\nHost: t\r\n{ASK}\r\n"));
    switched(&mut c);
    c.send("before");
    assert_eq!(read_n(&mut c, 6), b"before");
    let stopping = s.stop_in_background();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !stopping.is_finished(),
        "the drain waits for the connection"
    );
    // The protocol sees the drain at its next read, and lets go.
    c.send("x");
    assert_eq!(read_n(&mut c, 8), b"draining");
    assert!(c.is_closed());
    stopping.finish_within(Duration::from_secs(10));
}

#[test]
fn a_read_given_up_after_its_bytes_arrived_loses_none_of_them() {
    for multishot in [false, true] {
        let s = TestServer::with(Server::new().multishot_receive(multishot), router);
        let mut c = s.connect();
        c.send(format!(
            "GET /given-up-read HTTP/1.1\r\nHost: t\r\n{ASK}\r\n"
        ));
        switched(&mut c);
        // Arrives while the protocol holds its read unpolled.
        std::thread::sleep(Duration::from_millis(100));
        c.send("payload");
        let mut answer = String::new();
        c.reader.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "payload", "multishot {multishot}");
    }
}

#[test]
fn a_protocol_waiting_for_its_client_hears_the_drain_at_once() {
    for multishot in [false, true] {
        let server = Server::new()
            .grace(Duration::from_secs(20))
            .multishot_receive(multishot);
        let s = TestServer::with(server, router);
        let mut c = s.connect();
        c.send(format!("GET /wind-down HTTP/1.1\r\nHost: t\r\n{ASK}\r\n"));
        switched(&mut c);
        // Reads lost to the drain's wake-ups before lose no bytes.
        for i in 0..20 {
            let msg = format!("message {i}");
            c.send(&msg);
            assert_eq!(read_n(&mut c, msg.len()), msg.as_bytes());
        }
        // The client sends nothing more: the drain alone wakes the protocol.
        let stopping = s.stop_in_background();
        let mut rest = String::new();
        c.reader.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "goodbye", "multishot {multishot}");
        stopping.finish_within(Duration::from_secs(5));
    }
}

#[test]
fn split_halves_write_while_the_other_reads_and_close_once_both_drop() {
    for multishot in [false, true] {
        let s = TestServer::with(Server::new().multishot_receive(multishot), router);
        let mut c = s.connect();
        c.send(format!("GET /split HTTP/1.1\r\nHost: t\r\n{ASK}\r\nearly"));
        switched(&mut c);
        // Written while the reading half waits for the client.
        assert_eq!(read_n(&mut c, 6), b"hello\n", "multishot {multishot}");
        assert_eq!(read_n(&mut c, 5), b"early");
        for i in 0..20 {
            let msg = format!("message {i}");
            c.send(&msg);
            assert_eq!(read_n(&mut c, msg.len()), msg.as_bytes());
        }
        c.stream().shutdown(Shutdown::Write).unwrap();
        assert!(c.is_closed(), "multishot {multishot}");
    }
}

#[test]
fn an_upgraded_connection_that_ignores_the_drain_closes_when_the_grace_period_ends() {
    let mut s = TestServer::with(Server::new().grace(Duration::from_millis(300)), router);
    let mut c = s.connect();
    // `echo` looks at the drain only when the client sends something.
    c.send(format!("GET /echo HTTP/1.1\r\nHost: t\r\n{ASK}\r\n"));
    switched(&mut c);
    let start = Instant::now();
    s.stop();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    assert!(c.is_closed());
}

#[test]
fn a_write_given_up_part_way_is_followed_by_nothing() {
    let s = TestServer::start(router);
    let mut c = s.connect();
    c.send(format!("GET /cut-write HTTP/1.1\r\nHost: t\r\n{ASK}\r\n"));
    switched(&mut c);
    std::thread::sleep(Duration::from_millis(500));
    // Part of the big message, then the end of the stream: the later write
    // failed rather than follow the cut one.
    let mut got = Vec::new();
    c.reader.read_to_end(&mut got).unwrap();
    assert!(!got.is_empty() && got.len() < 32 << 20, "{}", got.len());
    assert!(got.iter().all(|&b| b == b'x'), "something followed the cut");
    let failures = s.connect().get("/failures").text();
    assert!(failures.contains("after the cut"), "{failures}");
}

#[test]
fn a_client_reset_while_the_protocol_reads_releases_the_connection() {
    for multishot in [false, true] {
        let server = Server::new()
            .max_connections(1)
            .multishot_receive(multishot);
        let s = TestServer::with(server, router);
        for path in ["/echo", "/echo", "/split", "/split", "/wind-down"] {
            let mut c = s.connect();
            c.send(format!("GET {path} HTTP/1.1\r\nHost: t\r\n{ASK}\r\n"));
            switched(&mut c);
            if path == "/split" {
                assert_eq!(read_n(&mut c, 6), b"hello\n");
            }
            c.send("hi");
            assert_eq!(read_n(&mut c, 2), b"hi", "{path}");
            // The protocol waits in a read (a split one's writer in its
            // channel); the client resets.
            socket2::SockRef::from(c.stream())
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            drop(c);
        }
        // With room for one connection, a new one is served: every
        // upgraded connection was let go.
        assert_eq!(s.connect().get("/").text(), "root", "multishot {multishot}");
    }
}
