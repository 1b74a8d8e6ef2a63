//! Limits answer with their status and close: 414, 431, 413, 505, 501, 405;
//! a later HTTP/1.x is read as HTTP/1.1.

mod util;

use shardio_http::{Limits, Request, Router, Server};
use util::TestServer;

fn server() -> TestServer {
    let limits = Limits {
        max_request_line: 256,
        max_headers: 8,
        max_header_field: 128,
        max_head: 1024,
        max_body: 1000,
        ..Limits::default()
    };
    TestServer::with(Server::new().limits(limits), || {
        Router::new()
            .get("/", |_r: Request| async { "root" })
            .post("/echo", |mut r: Request| async move {
                r.take_body().collect().await
            })
    })
}

fn status_and_closed(s: &TestServer, req: &str) -> (u16, bool) {
    let mut c = s.connect();
    c.send(req);
    let reply = c.reply().expect("a reply");
    (reply.status, c.is_closed())
}

#[test]
fn each_limit_has_its_status() {
    let s = server();
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(300));
    assert_eq!(status_and_closed(&s, &long_target), (414, true));
    let many: String = (0..10).map(|i| format!("X-{i}: v\r\n")).collect();
    assert_eq!(
        status_and_closed(&s, &format!("GET / HTTP/1.1\r\nHost: t\r\n{many}\r\n")),
        (431, true)
    );
    let big_field = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX: {}\r\n\r\n",
        "v".repeat(200)
    );
    assert_eq!(status_and_closed(&s, &big_field), (431, true));
    let big_head: String = (0..7)
        .map(|i| format!("X-{i}: {}\r\n", "v".repeat(120)))
        .collect();
    let target = "a".repeat(200);
    assert_eq!(
        status_and_closed(
            &s,
            &format!("GET /{target} HTTP/1.1\r\nHost: t\r\n{big_head}\r\n")
        ),
        (431, true)
    );
    assert_eq!(
        status_and_closed(
            &s,
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n"
        ),
        (413, true)
    );
    assert_eq!(
        status_and_closed(&s, "GET / HTTP/2.0\r\nHost: t\r\n\r\n"),
        (505, true)
    );
    assert_eq!(
        status_and_closed(&s, "BREW / HTTP/1.1\r\nHost: t\r\n\r\n"),
        (501, true)
    );
}

#[test]
fn a_later_http_1_minor_version_is_answered_as_http_1_1() {
    let s = server();
    let mut c = s.connect();
    // RFC 9110 §2.5: read as the highest minor version the server has.
    c.send("GET / HTTP/1.2\r\nHost: t\r\n\r\nGET / HTTP/1.9\r\nHost: t\r\n\r\n");
    for _ in 0..2 {
        let reply = c.reply().unwrap();
        assert_eq!((reply.version.as_str(), reply.status), ("HTTP/1.1", 200));
        assert_eq!(reply.text(), "root");
    }
    assert_eq!(c.get("/").text(), "root", "kept alive, as HTTP/1.1 is");
    // Its other rules are HTTP/1.1's: `Host` is required.
    assert_eq!(status_and_closed(&s, "GET / HTTP/1.3\r\n\r\n"), (400, true));
    // Neither a later major version nor empty lines first make it 400.
    assert_eq!(
        status_and_closed(&s, "\r\nGET / HTTP/2.0\r\nHost: t\r\n\r\n"),
        (505, true)
    );
}

#[test]
fn a_partial_head_over_the_limit_is_refused_without_waiting() {
    let s = server();
    let mut c = s.connect();
    // No end of the request line in sight, and already over the limit.
    c.send(format!("GET /{}", "a".repeat(400)));
    assert_eq!(c.reply().unwrap().status, 414);
}

#[test]
fn chunked_body_over_the_limit_is_413() {
    let s = server();
    let mut c = s.connect();
    let piece = "a".repeat(600);
    c.send(format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n{piece}\r\n258\r\n{piece}\r\n0\r\n\r\n"
    ));
    let reply = c.reply().unwrap();
    assert_eq!(reply.status, 413);
    assert!(c.is_closed());
}

#[test]
fn wrong_method_is_405_with_allow_and_keeps_the_connection() {
    let s = server();
    let mut c = s.connect();
    c.send("DELETE / HTTP/1.1\r\nHost: t\r\n\r\n");
    let reply = c.reply().unwrap();
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD, OPTIONS"));
    assert_eq!(c.get("/").text(), "root");
}
