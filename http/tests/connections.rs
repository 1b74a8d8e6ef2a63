//! The per-shard connection cap and graceful shutdown.

mod util;

use shardio_http::{Request, Response, Router, Server};
use std::io::{BufRead, Read};
use std::time::{Duration, Instant};
use util::TestServer;

#[test]
fn at_the_cap_new_connections_wait_until_one_closes() {
    let s = TestServer::with(Server::new().max_connections(2), || {
        Router::new().get("/", |_r: Request| async { "root" })
    });
    let mut a = s.connect();
    let mut b = s.connect();
    assert_eq!(a.get("/").text(), "root");
    assert_eq!(b.get("/").text(), "root");
    // The third handshake completes in the backlog, but nobody serves it.
    let mut c = s.connect();
    c.stream()
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut byte = [0u8; 1];
    assert!(c.stream().peek(&mut byte).is_err(), "served past the cap");
    drop(a);
    c.stream()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(c.reply().unwrap().text(), "root");
    assert_eq!(b.get("/").text(), "root");
}

/// How long the in-flight request of the shutdown test takes: long enough
/// that an idle close which waited for it is told apart from a prompt one
/// on a busy host, whose own pauses can pass a second.
const SLOW: Duration = Duration::from_secs(3);

#[test]
fn shutdown_closes_idle_connections_and_finishes_requests_in_flight() {
    let mut s = TestServer::with(Server::new().grace(Duration::from_secs(10)), || {
        Router::new()
            .get("/", |_r: Request| async { "root" })
            .get("/slow", |_r: Request| async {
                shardio::time::sleep(SLOW).await;
                "slow"
            })
    });
    let mut idle = s.connect();
    assert_eq!(idle.get("/").text(), "root");
    let mut busy = s.connect();
    busy.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    std::thread::sleep(Duration::from_millis(50));
    let start = Instant::now();
    let addr = s.addr;
    let stopper = std::thread::spawn(move || s.stop());
    assert!(idle.is_closed(), "idle connection kept open");
    assert!(
        start.elapsed() < SLOW / 2,
        "idle close waited for the slow request"
    );
    let r = busy.reply().unwrap();
    assert_eq!(r.text(), "slow");
    assert_eq!(r.header("connection"), Some("close"));
    assert!(busy.is_closed());
    stopper.join().unwrap();
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still accepting"
    );
}

/// Sets its flag when dropped.
struct DropFlag(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn a_handler_still_running_at_the_grace_deadline_is_dropped_and_its_connection_closed() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let mut s = TestServer::with(Server::new().grace(Duration::from_millis(200)), move || {
        Router::new()
            .get("/", |_r: Request| async { "root" })
            .get("/stuck", move |_r: Request| {
                let guard = DropFlag(flag.clone());
                async move {
                    let _guard = guard;
                    std::future::pending::<()>().await;
                    "never"
                }
            })
    });
    let mut c = s.connect();
    // The answer to the first request does not wait for the stuck
    // handler, whose future goes where the first one's went.
    c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /stuck HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.reply().unwrap().text(), "root");
    std::thread::sleep(Duration::from_millis(50));
    assert!(!dropped.load(Ordering::SeqCst));
    s.stop();
    assert!(
        dropped.load(Ordering::SeqCst),
        "the stuck future was not dropped"
    );
    assert!(c.is_closed());
}

#[test]
fn a_streamed_response_that_ends_on_the_drain_lets_the_server_stop_at_once() {
    use futures_util::StreamExt;
    let s = TestServer::with(Server::new().grace(Duration::from_secs(20)), || {
        Router::new().get("/events", |req: Request| async move {
            // Never ends by itself.
            let ticks = futures_util::stream::unfold(0u32, |n| async move {
                shardio::time::sleep(Duration::from_millis(20)).await;
                Some((Ok(format!("tick {n}\n").into()), n + 1))
            });
            Response::stream(ticks.take_until(req.draining()))
                .with_header("content-type", "text/event-stream")
        })
    });
    let mut c = s.connect();
    c.send("GET /events HTTP/1.1\r\nHost: t\r\n\r\n");
    // The head, and the first ticks.
    let mut line = String::new();
    while !line.starts_with("tick 2") {
        line.clear();
        assert!(c.reader.read_line(&mut line).unwrap() > 0);
    }
    let stopping = s.stop_in_background();
    // The stream ends with the last chunk, and the connection closes.
    let mut rest = String::new();
    c.reader.read_to_string(&mut rest).unwrap();
    assert!(rest.ends_with("\r\n0\r\n\r\n"), "{rest:?}");
    stopping.finish_within(Duration::from_secs(5));
}

#[test]
fn outside_a_server_a_request_never_drains() {
    let req = Request::parse(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut draining = std::pin::pin!(req.draining());
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    use std::future::Future;
    assert!(draining.as_mut().poll(&mut cx).is_pending());
}
