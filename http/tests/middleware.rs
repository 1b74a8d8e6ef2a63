//! The built-in middleware, over real sockets.

mod util;

use bytes::Bytes;
use futures_channel::mpsc::UnboundedSender;
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use shardio_http::middleware::{
    AccessLog, BodyLimit, Compress, Cors, RateLimit, Recover, RequestId, RequestIds, Timeout,
};
use shardio_http::{Request, Response, Router};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use util::TestServer;

#[test]
fn recover_turns_a_panic_into_500_and_the_connection_survives() {
    let s = TestServer::start(|| {
        Router::new()
            .middleware(Recover)
            .get("/boom", |_r: Request| async {
                if true {
                    panic!("handler exploded (expected by the test)");
                }
                "never"
            })
            .get("/", |_r: Request| async { "fine" })
    });
    let mut c = s.connect();
    assert_eq!(c.get("/boom").status, 500);
    assert_eq!(c.get("/").text(), "fine");
}

/// A log sink the test can read from another thread.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn access_log_writes_buffered_lines() {
    let sink = Sink::default();
    let s2 = sink.clone();
    let s = TestServer::start(move || {
        Router::new()
            .middleware(AccessLog::to_writer(s2))
            .get("/hello", |_r: Request| async { "hi" })
    });
    let mut c = s.connect();
    c.get("/hello?x=1");
    c.get("/missing");
    // A target may carry `"` and UTF-8: escaped, it cannot end the quoted
    // request line early and fake the fields after it.
    c.send(&b"GET /x\"\xC3\xA9 HTTP/1.1\r\nHost: t\r\n\r\n"[..]);
    assert_eq!(c.reply().unwrap().status, 404);
    assert!(
        sink.0.lock().unwrap().is_empty(),
        "written on the request path"
    );
    std::thread::sleep(Duration::from_millis(1300));
    let log = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(
        lines[0].contains("\"GET /hello?x=1 HTTP/1.1\" 200 2 "),
        "{log}"
    );
    assert!(lines[1].contains("\"GET /missing HTTP/1.1\" 404 "), "{log}");
    assert!(
        lines[2].contains("\"GET /x\\x22\\xC3\\xA9 HTTP/1.1\" 404 "),
        "{log}"
    );
}

#[test]
fn cors_preflight_and_simple_requests() {
    let s = TestServer::start(|| {
        Router::new()
            .middleware(Cors::origins(["https://app.example"]).max_age(60))
            .get("/", |_r: Request| async { "x" })
    });
    let mut c = s.connect();
    c.send("OPTIONS / HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: x-a\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(r.header("access-control-allow-headers"), Some("x-a"));
    assert_eq!(r.header("access-control-max-age"), Some("60"));
    c.send("GET / HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(r.header("vary"), Some("Origin"));
    c.send("GET / HTTP/1.1\r\nHost: t\r\nOrigin: https://evil.example\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(r.header("access-control-allow-origin"), None);
    // The answer without CORS fields varies with `Origin` too: a cache
    // must not give it to the allowed origin.
    assert_eq!(r.header("vary"), Some("Origin"));
    assert_eq!(c.get("/").header("vary"), Some("Origin"));
}

#[test]
fn cors_for_any_origin_answers_a_star_that_does_not_vary() {
    let s = TestServer::start(|| {
        Router::new()
            .middleware(Cors::any())
            .get("/", |_r: Request| async { "x" })
    });
    let mut c = s.connect();
    c.send("GET / HTTP/1.1\r\nHost: t\r\nOrigin: https://a.example\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("vary"), None);
    assert_eq!(c.get("/").header("vary"), None);
}

#[test]
fn cors_origins_can_be_matched_by_a_predicate() {
    let s = TestServer::start(|| {
        Router::new()
            .middleware(Cors::origins_matching(|origin| {
                origin
                    .strip_prefix("https://")
                    .is_some_and(|host| host.ends_with(".app.example"))
            }))
            .get("/", |_r: Request| async { "x" })
    });
    let mut c = s.connect();
    let mut from = |origin: &str| {
        c.send(format!(
            "GET / HTTP/1.1\r\nHost: t\r\nOrigin: {origin}\r\n\r\n"
        ));
        c.reply().unwrap()
    };
    let r = from("https://eu.app.example");
    // Echoed, never `*`, since the answer depends on the origin.
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://eu.app.example")
    );
    assert_eq!(r.header("vary"), Some("Origin"));
    for refused in ["https://evilapp.example", "http://eu.app.example", "null"] {
        let r = from(refused);
        assert_eq!(r.status, 200, "{refused}");
        assert_eq!(r.header("access-control-allow-origin"), None, "{refused}");
        assert_eq!(r.header("vary"), Some("Origin"), "{refused}");
    }
}

/// A gzip body, decoded (its trailer checked).
fn gunzip(body: &[u8]) -> String {
    read_text(flate2::read::GzDecoder::new(body))
}

/// A zlib ("deflate") body, decoded.
fn unzlib(body: &[u8]) -> String {
    read_text(flate2::read::ZlibDecoder::new(body))
}

fn read_text(mut decoder: impl Read) -> String {
    let mut plain = String::new();
    decoder.read_to_string(&mut plain).unwrap();
    plain
}

#[test]
fn compression_of_eligible_responses_only() {
    let s = TestServer::start(|| {
        Router::new()
            .middleware(Compress::new())
            .get("/big", |_r: Request| async {
                "hello compression ".repeat(200)
            })
            .get("/tiny", |_r: Request| async { "tiny" })
            .get("/tagged", |_r: Request| async {
                Response::text("tagged ".repeat(300)).with_header("etag", "\"v1\"")
            })
            .get("/weak", |_r: Request| async {
                Response::text("weak ".repeat(300)).with_header("etag", "W/\"v1\"")
            })
            .get("/png", |_r: Request| async {
                Response::with_body("image/png", vec![0u8; 4096])
            })
            .get("/encoded", |_r: Request| async {
                Response::text("x".repeat(4096)).with_header("content-encoding", "br")
            })
    });
    let mut c = s.connect();
    c.send("GET /big HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip;q=0.8, deflate\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(r.header("content-encoding"), Some("deflate"));
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    let plain = unzlib(&r.body);
    assert_eq!(plain, "hello compression ".repeat(200));
    c.send("GET /big HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let plain = gunzip(&r.body);
    assert_eq!(plain.len(), 18 * 200);
    // A strong validator names the uncompressed bytes: it becomes weak on
    // the compressed ones, and stays as it is on the uncompressed ones.
    c.send("GET /tagged HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("etag"), Some("W/\"v1\""));
    assert_eq!(c.get("/tagged").header("etag"), Some("\"v1\""));
    c.send("GET /weak HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("etag"), Some("W/\"v1\""));
    for path in ["/tiny", "/png", "/encoded"] {
        c.send(format!(
            "GET {path} HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n"
        ));
        let r = c.reply().unwrap();
        assert_ne!(r.header("content-encoding"), Some("gzip"), "{path}");
    }
    let r = c.get("/big");
    assert_eq!(
        r.header("content-encoding"),
        None,
        "no Accept-Encoding, no compression"
    );
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
}

/// Reads one chunk of a chunked body: its bytes, empty for the last.
fn read_chunk(r: &mut impl BufRead) -> Vec<u8> {
    let mut size = String::new();
    r.read_line(&mut size).unwrap();
    let n = usize::from_str_radix(size.trim(), 16).unwrap();
    let mut piece = vec![0; n + 2];
    r.read_exact(&mut piece).unwrap();
    assert_eq!(&piece[n..], b"\r\n");
    piece.truncate(n);
    piece
}

/// A handler for one request that streams, as `content_type`, what the
/// test sends through the returned sender, until the sender is dropped.
fn fed_stream(
    content_type: &'static str,
) -> (
    UnboundedSender<&'static str>,
    impl Fn(Request) -> LocalBoxFuture<'static, Response> + Send + 'static,
) {
    let (tx, rx) = futures_channel::mpsc::unbounded::<&'static str>();
    let rx = Arc::new(Mutex::new(Some(rx)));
    let handler = move |_r: Request| {
        let rx = rx.lock().unwrap().take().expect("one request");
        let pieces = rx.map(|e| Ok(Bytes::from_static(e.as_bytes())));
        let res = Response::stream(pieces).with_header("content-type", content_type);
        Box::pin(async move { res }) as LocalBoxFuture<'static, Response>
    };
    (tx, handler)
}

/// Sends `request` on a new connection and reads the answer's head: the
/// head in lowercase, and the reader left at the body's first byte.
fn open_answer(s: &TestServer, request: &str) -> (String, BufReader<TcpStream>) {
    let conn = TcpStream::connect(s.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    (&conn).write_all(request.as_bytes()).unwrap();
    let mut r = BufReader::new(conn);
    let mut head = String::new();
    while !head.ends_with("\r\n\r\n") {
        r.read_line(&mut head).unwrap();
    }
    (head.to_ascii_lowercase(), r)
}

#[test]
fn compression_of_a_stream_sends_each_piece_as_it_comes() {
    // The handler streams what the test sends it, as server-sent events.
    let (tx, events) = fed_stream("text/event-stream");
    let s = TestServer::start(move || {
        Router::new()
            .middleware(Compress::new())
            .get("/events", events)
            .get("/png-stream", |_r: Request| async {
                let pieces = futures_util::stream::iter([Ok(Bytes::from(vec![7u8; 3000]))]);
                Response::stream(pieces).with_header("content-type", "image/png")
            })
    });
    let (head, mut r) = open_answer(
        &s,
        "GET /events HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n",
    );
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-encoding: gzip\r\n"), "{head}");
    assert!(head.contains("transfer-encoding: chunked\r\n"), "{head}");
    assert!(head.contains("vary: accept-encoding\r\n"), "{head}");

    // Each event decodes as soon as its chunk arrives, while the stream
    // is still open: the compressor is flushed after every piece.
    let mut plain = flate2::write::GzDecoder::new(Vec::new());
    for (i, event) in ["data: one\n\n", "data: two\n\n", "data: three\n\n"]
        .into_iter()
        .enumerate()
    {
        tx.unbounded_send(event).unwrap();
        let before = plain.get_ref().len();
        while plain.get_ref().len() < before + event.len() {
            let chunk = read_chunk(&mut r);
            assert!(!chunk.is_empty(), "the body ended before event {i}");
            plain.write_all(&chunk).unwrap();
            plain.flush().unwrap();
        }
        assert_eq!(&plain.get_ref()[before..], event.as_bytes(), "event {i}");
    }
    // The end of the stream sends the gzip trailer, then the last chunk.
    drop(tx);
    loop {
        let chunk = read_chunk(&mut r);
        if chunk.is_empty() {
            break;
        }
        plain.write_all(&chunk).unwrap();
    }
    let plain = plain
        .finish()
        .expect("a whole gzip stream, trailer checked");
    assert_eq!(plain, b"data: one\n\ndata: two\n\ndata: three\n\n");

    // A type that does not compress streams as it is.
    let mut c = s.connect();
    c.send("GET /png-stream HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
    let reply = c.reply().unwrap();
    assert_eq!(reply.header("content-encoding"), None);
    assert_eq!(reply.body, vec![7u8; 3000]);
}

#[test]
fn compression_of_a_stream_to_http_1_0_ends_with_the_connection() {
    let s = TestServer::start(|| {
        Router::new()
            .middleware(Compress::new())
            .get("/log", |_r: Request| async {
                let lines = (0..50).map(|i| Ok(Bytes::from(format!("line {i}\n"))));
                Response::stream(futures_util::stream::iter(lines))
                    .with_header("content-type", "text/plain")
            })
    });
    let mut c = s.connect();
    c.send("GET /log HTTP/1.0\r\nAccept-Encoding: deflate\r\n\r\n");
    let reply = c.reply().unwrap();
    assert_eq!(reply.header("content-encoding"), Some("deflate"));
    assert_eq!(reply.header("content-length"), None);
    let plain = unzlib(&reply.body);
    let want: String = (0..50).map(|i| format!("line {i}\n")).collect();
    assert_eq!(plain, want);
}

#[test]
fn compression_of_streams_stops_at_the_cap_and_resumes_when_one_ends() {
    // The first stream stays open until the test lets it end.
    let (tx, held) = fed_stream("text/plain");
    let s = TestServer::start(move || {
        Router::new()
            .middleware(Compress::new().max_streams(1))
            .get("/held", held)
            .get("/short", |_r: Request| async {
                let pieces = futures_util::stream::iter([Ok(Bytes::from("short ".repeat(100)))]);
                Response::stream(pieces).with_header("content-type", "text/plain")
            })
    });
    const GZIP: &str = "Host: t\r\nAccept-Encoding: gzip\r\n\r\n";
    let (head, mut r) = open_answer(&s, &format!("GET /held HTTP/1.1\r\n{GZIP}"));
    assert!(head.contains("content-encoding: gzip"), "{head}");

    // The one place is taken: this stream goes out as it is.
    let mut c = s.connect();
    c.send(format!("GET /short HTTP/1.1\r\n{GZIP}"));
    let reply = c.reply().unwrap();
    assert_eq!(reply.header("content-encoding"), None);
    assert_eq!(reply.text(), "short ".repeat(100));

    // The held stream ends; its place is free for the next one.
    drop(tx);
    while !read_chunk(&mut r).is_empty() {}
    c.send(format!("GET /short HTTP/1.1\r\n{GZIP}"));
    let reply = c.reply().unwrap();
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
    let plain = gunzip(&reply.body);
    assert_eq!(plain, "short ".repeat(100));
}

#[test]
fn compression_of_a_streamed_answer_to_head_names_the_coding_and_holds_no_place() {
    let s = TestServer::start(|| {
        Router::new()
            .middleware(Compress::new().max_streams(1))
            .get("/log", |_r: Request| async {
                let lines = (0..20).map(|i| Ok(Bytes::from(format!("line {i}\n"))));
                Response::stream(futures_util::stream::iter(lines))
                    .with_header("content-type", "text/plain")
            })
    });
    let mut c = s.connect();
    for _ in 0..3 {
        c.send("HEAD /log HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
        let head = c.reply_to(true).unwrap();
        assert_eq!(head.header("content-encoding"), Some("gzip"));
        assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    }
    // The HEAD answers' streams, never polled, gave their place back.
    c.send("GET /log HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
    let reply = c.reply().unwrap();
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
    let plain = gunzip(&reply.body);
    assert_eq!(
        plain,
        (0..20).map(|i| format!("line {i}\n")).collect::<String>()
    );
}

#[test]
fn timeout_answers_503() {
    let s = TestServer::start(|| {
        Router::new()
            .middleware(Timeout(Duration::from_millis(100)))
            .get("/slow", |_r: Request| async {
                shardio::time::sleep(Duration::from_secs(5)).await;
                "late"
            })
    });
    let mut c = s.connect();
    let r = c.get("/slow");
    assert_eq!(r.status, 503);
}

#[test]
fn rate_limit_answers_429_with_retry_after() {
    let s = TestServer::start(|| {
        Router::new()
            .middleware(RateLimit::new(1.0, 3))
            .get("/", |_r: Request| async { "ok" })
    });
    let mut c = s.connect();
    for _ in 0..3 {
        assert_eq!(c.get("/").status, 200);
    }
    let r = c.get("/");
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("1"));
}

/// A client connected from `source`, one of the loopback block's
/// addresses (all of 127.0.0.0/8 reaches this host).
fn connect_from(s: &TestServer, source: [u8; 4]) -> util::Client {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let from = std::net::SocketAddr::from((source, 0));
    socket.bind(&from.into()).unwrap();
    socket.connect(&s.addr.into()).unwrap();
    util::Client::from_stream(socket.into())
}

#[test]
fn rate_limit_keeps_busy_clients_through_a_flood_of_new_ones() {
    // Room for 8 clients; 100 others arrive while the busy one keeps
    // asking, and it never gets a new allowance.
    let s = TestServer::start(|| {
        Router::new()
            .middleware(RateLimit::new(0.01, 2).max_clients(8))
            .get("/", |_r: Request| async { "ok" })
    });
    let mut busy = connect_from(&s, [127, 0, 0, 2]);
    assert_eq!(busy.get("/").status, 200);
    assert_eq!(busy.get("/").status, 200);
    for i in 0..100u8 {
        let mut other = connect_from(&s, [127, 0, 1, i]);
        assert_eq!(other.get("/").status, 200, "client {i}'s first request");
        assert_eq!(busy.get("/").status, 429, "after {i} other clients");
    }
    let r = busy.get("/");
    assert_eq!(r.status, 429);
    // 0.01 tokens a second: about 100 s to the next one.
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((90..=100).contains(&wait), "retry-after {wait}");
}

#[test]
fn rate_limit_can_take_the_client_from_a_proxy_field() {
    let s = TestServer::start(|| {
        Router::new()
            .middleware(
                RateLimit::new(0.01, 1).client_of(|req| req.header("x-real-ip")?.parse().ok()),
            )
            .get("/", |_r: Request| async { "ok" })
    });
    // One connection, as from a proxy, carrying three clients.
    let mut c = s.connect();
    let as_client = |c: &mut util::Client, ip: &str| {
        c.request("GET", "/", &[&format!("X-Real-IP: {ip}")]).status
    };
    assert_eq!(as_client(&mut c, "192.0.2.1"), 200);
    assert_eq!(as_client(&mut c, "192.0.2.1"), 429);
    assert_eq!(as_client(&mut c, "192.0.2.2"), 200);
    assert_eq!(as_client(&mut c, "2001:db8::1"), 200);
    assert_eq!(as_client(&mut c, "2001:db8::2"), 429, "the same /64");
    // Without the field (or with garbage), the peer address counts.
    assert_eq!(c.get("/").status, 200);
    assert_eq!(as_client(&mut c, "not an address"), 429);
}

#[test]
fn body_limit_answers_413() {
    let s = TestServer::start(|| {
        Router::new().group("/small", |g| {
            g.middleware(BodyLimit(8))
                .post("/", |mut r: Request| async move {
                    r.take_body().collect().await
                })
        })
    });
    let mut c = s.connect();
    c.send("POST /small/ HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\n123456789");
    assert_eq!(c.reply().unwrap().status, 413);
    let mut c = s.connect();
    c.send("POST /small/ HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n123456789\r\n0\r\n\r\n");
    assert_eq!(c.reply().unwrap().status, 413);
    let mut c = s.connect();
    c.send("POST /small/ HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(c.reply().unwrap().text(), "abc");
}

#[test]
fn request_ids_are_kept_or_made() {
    let s = TestServer::start(|| {
        Router::new()
            .middleware(RequestIds::new())
            .get("/", |r: Request| async move {
                r.extensions().get::<RequestId>().unwrap().0.clone()
            })
    });
    let mut c = s.connect();
    c.send("GET / HTTP/1.1\r\nHost: t\r\nX-Request-Id: abc-123\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(
        (r.text().as_str(), r.header("x-request-id")),
        ("abc-123", Some("abc-123"))
    );
    let a = c.get("/");
    let b = c.get("/");
    assert_ne!(a.text(), b.text());
    assert_eq!(a.header("x-request-id"), Some(a.text().as_str()));
    c.send("GET / HTTP/1.1\r\nHost: t\r\nX-Request-Id: bad id!\r\n\r\n");
    assert_ne!(c.reply().unwrap().text(), "bad id!");
}
