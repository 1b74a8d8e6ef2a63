//! Keep-alive rules per version, and pipelined requests answered in order,
//! all responses to one read in one send.

mod util;

use shardio_http::middleware::RequestIds;
use shardio_http::{Request, Router};
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use util::TestServer;

fn server() -> TestServer {
    TestServer::start(|| {
        Router::new()
            .get("/", |_r: Request| async { "root" })
            .get("/n/:n", |r: Request| async move {
                r.param("n").unwrap_or_default().into_owned()
            })
    })
}

#[test]
fn http11_keeps_alive_by_default_and_closes_on_request() {
    let s = server();
    let mut c = s.connect();
    for _ in 0..3 {
        let r = c.get("/");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("connection"), None);
    }
    c.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.is_closed());
}

#[test]
fn http10_closes_unless_asked_to_keep_alive() {
    let s = server();
    let mut c = s.connect();
    c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(r.header("connection"), Some("keep-alive"));
    assert!(r.headers.iter().all(|(n, _)| n != "transfer-encoding"));
    c.send("GET / HTTP/1.0\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(r.text(), "root");
    assert!(c.is_closed());
}

#[test]
fn pipelined_requests_are_answered_in_order_in_one_send() {
    let s = server();
    let mut c = s.connect();
    let batch: String = (0..16)
        .map(|i| format!("GET /n/{i} HTTP/1.1\r\nHost: t\r\n\r\n"))
        .collect();
    c.send(&batch);
    // Give the server time to answer everything, then take what one read
    // returns: one send of all 16 responses arrives together.
    std::thread::sleep(Duration::from_millis(100));
    let mut buf = vec![0; 64 * 1024];
    let n = c.reader.get_mut().read(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 16, "{text}");
    let bodies: Vec<&str> = text
        .split("HTTP/1.1 200 OK")
        .skip(1)
        .map(|r| r.rsplit("\r\n\r\n").next().unwrap())
        .collect();
    let want: Vec<String> = (0..16).map(|i| i.to_string()).collect();
    assert_eq!(bodies, want);
}

/// A router whose `/wait` answers only once `release` is set; with
/// `middleware`, a router-wide middleware runs around every handler.
fn waiting_router(release: Arc<AtomicBool>, middleware: bool) -> Router {
    let router =
        Router::new()
            .get("/", |_r: Request| async { "root" })
            .get("/wait", move |_r: Request| {
                let release = release.clone();
                async move {
                    while !release.load(Ordering::SeqCst) {
                        shardio::time::sleep(Duration::from_millis(5)).await;
                    }
                    "waited"
                }
            });
    if middleware {
        router.middleware(RequestIds::new())
    } else {
        router
    }
}

#[test]
fn a_handler_that_waits_holds_back_only_its_own_response() {
    for middleware in [false, true] {
        let release = Arc::new(AtomicBool::new(false));
        let r2 = release.clone();
        let s = TestServer::start(move || waiting_router(r2, middleware));
        let mut c = s.connect();
        c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /wait HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n");
        // Only the waiting handler's release lets the second response come.
        assert_eq!(
            c.reply().unwrap().text(),
            "root",
            "middleware: {middleware}"
        );
        assert!(!release.load(Ordering::SeqCst));
        release.store(true, Ordering::SeqCst);
        assert_eq!(c.reply().unwrap().text(), "waited");
        assert_eq!(c.reply().unwrap().text(), "root");
    }
}

#[test]
fn a_request_split_across_writes_is_assembled() {
    let s = server();
    let mut c = s.connect();
    let req = b"GET /n/77 HTTP/1.1\r\nHost: t\r\n\r\nGET /n/78 HTTP/1.1\r\nHo";
    for piece in req.chunks(7) {
        c.send(piece);
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(c.reply().unwrap().text(), "77");
    c.send("st: t\r\n\r\n");
    assert_eq!(c.reply().unwrap().text(), "78");
}
