//! Request smuggling defences: every ambiguous framing is refused with its
//! status, the connection closes, and nothing after the bad request is
//! parsed as a new request.

mod util;

use shardio_http::{Request, Router};
use util::TestServer;

fn server() -> TestServer {
    TestServer::start(|| {
        Router::new()
            .get("/", |_r: Request| async { "root" })
            .post("/", |mut r: Request| async move {
                let body = r.take_body().collect().await?;
                Ok::<_, shardio_http::BodyError>(format!("got {}", body.len()))
            })
            .get("/smuggled", |_r: Request| async { "SMUGGLED" })
    })
}

/// Sends `head` followed by a request that must never be answered.
fn refused(server: &TestServer, head: &str, want: u16) {
    let mut c = server.connect();
    c.send(format!("{head}GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"));
    let reply = c.reply().unwrap_or_else(|| panic!("no reply to {head:?}"));
    assert_eq!(reply.status, want, "{head:?}");
    assert_eq!(reply.header("connection"), Some("close"), "{head:?}");
    assert!(c.is_closed(), "connection left open after {head:?}");
}

#[test]
fn ambiguous_framing_is_refused_and_closes() {
    let s = server();
    let cases: &[(&str, u16)] = &[
        ("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400),
        ("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +4\r\n\r\nabcd", 400),
        ("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1Z\r\n\r\na", 400),
        ("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: \r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: t\r\nX-A: b\r\n c\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: t\r\nX-A : b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: t\r\nX-A: b\rc\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: t\r\nX-A: b\0c\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("GET  / HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        ("GET / HTTP/1.1 \r\nHost: t\r\n\r\n", 400),
        // RFC 9112 §3.2: a Host that is not `host[:port]`.
        ("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
        // A fragment, or an absolute-form target without a valid host.
        ("GET /#x HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        ("GET http:///x HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        ("GET http://u@t/ HTTP/1.1\r\nHost: t\r\n\r\n", 400),
    ];
    for (head, want) in cases {
        refused(&s, head, *want);
    }
}

#[test]
fn bad_chunked_body_closes_the_connection() {
    let s = server();
    for body in [
        "5\r\nabcdeXX0\r\n\r\n",
        // Whitespace after a chunk size that no extension follows: read up
        // to the space or past it, the size line means different things.
        "3 \r\nabc\r\n0\r\n\r\n",
        "3 x\r\nabc\r\n0\r\n\r\n",
        // Trailer lines are field lines: without a colon, folded, or with
        // whitespace before the colon, where parsers would part ways.
        "3\r\nabc\r\n0\r\nBad Trailer\r\n\r\n",
        "3\r\nabc\r\n0\r\nX-T: 1\r\n folded\r\n\r\n",
        "3\r\nabc\r\n0\r\nX-T : 1\r\n\r\n",
    ] {
        let mut c = s.connect();
        c.send(format!(
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{body}\
             GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"
        ));
        let reply = c.reply().unwrap();
        assert_eq!(reply.status, 400, "{body:?}");
        assert!(c.is_closed(), "{body:?}");
    }
}

#[test]
fn a_bad_trailer_in_an_unread_body_closes_the_connection() {
    let s = server();
    let mut c = s.connect();
    // `GET /` answers without reading its body; the server reads past it
    // to the next request, finds a malformed trailer, and stops there.
    c.send(
        "GET / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
         3\r\nabc\r\n0\r\nBad Trailer\r\n\r\n\
         GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let reply = c.reply().unwrap();
    assert_eq!(reply.text(), "root");
    assert!(
        c.reply().is_none(),
        "a request after the bad trailer was answered"
    );
    assert!(c.is_closed());
}

#[test]
fn well_formed_trailers_end_the_body() {
    let s = server();
    let mut c = s.connect();
    c.send(
        "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
         3\r\nabc\r\n0\r\nX-Checksum: 1\r\nX-Empty:\r\n\r\n\
         GET / HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(c.reply().unwrap().text(), "got 3");
    assert_eq!(c.reply().unwrap().text(), "root");
}

#[test]
fn the_host_is_the_absolute_targets_authority_or_the_host_field() {
    let s = TestServer::start(|| {
        Router::new().get("/", |r: Request| async move { format!("{:?}", r.host()) })
    });
    let mut c = s.connect();
    let mut ask = |head: &str| {
        c.send(head);
        c.reply().unwrap().text()
    };
    assert_eq!(
        ask("GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n"),
        r#"Some("a.example:8080")"#
    );
    assert_eq!(
        ask("GET http://b.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n"),
        r#"Some("b.example")"#,
        "RFC 9112 §3.2.2: the target's authority wins"
    );
    assert_eq!(
        ask("GET http://[::1]:9 HTTP/1.1\r\nHost: a.example\r\n\r\n"),
        r#"Some("[::1]:9")"#
    );
    assert_eq!(ask("GET / HTTP/1.1\r\nHost:\r\n\r\n"), "None");
    assert_eq!(
        ask("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
        "None"
    );
}

#[test]
fn identical_content_lengths_are_one_length() {
    let s = server();
    let mut c = s.connect();
    c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 3\r\n\r\nabc");
    let reply = c.reply().unwrap();
    assert_eq!((reply.status, reply.text().as_str()), (200, "got 3"));
    assert_eq!(c.get("/").text(), "root", "connection still usable");
}
