//! The built-in middleware, over real sockets (`Compress` has
//! `compression.rs`).

mod util;

use shardio_http::middleware::{
    AccessLog, BodyLimit, Cors, RateLimit, Recover, RequestId, RequestIds, Timeout,
};
use shardio_http::{Request, Router};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use util::{eventually, TestServer};

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
    // Handed to the sink by the once-a-second flush.
    let written = || String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    eventually(
        Duration::from_secs(10),
        || format!("not flushed: {:?}", written()),
        || written().lines().count() >= 3,
    );
    let log = written();
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

/// A log sink whose writes wait until the test opens its gate: a pipe
/// nobody reads.
#[derive(Clone, Default)]
struct StuckSink {
    written: Arc<Mutex<Vec<u8>>>,
    gate: Arc<(Mutex<bool>, std::sync::Condvar)>,
    entered: Arc<std::sync::atomic::AtomicBool>,
}

impl StuckSink {
    fn open(&self) {
        *self.gate.0.lock().unwrap() = true;
        self.gate.1.notify_all();
    }
}

impl Write for StuckSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.entered
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let (open, opened) = &*self.gate;
        let mut open = open.lock().unwrap();
        while !*open {
            open = opened.wait(open).unwrap();
        }
        self.written.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_stuck_access_log_sink_stops_neither_the_shard_nor_its_memory() {
    let sink = StuckSink::default();
    let s2 = sink.clone();
    let s = TestServer::start(move || {
        Router::new()
            .middleware(AccessLog::to_writer(s2))
            .get("/:n", |_r: Request| async { "ok" })
    });
    let mut c = s.connect();
    // Lines of about 4 KiB: 32 KiB of them (8 requests) are handed to the
    // sink at a time, whose first write then blocks.
    let pad = "p".repeat(4000);
    let requests = 1_200;
    for i in 0..requests {
        let r = c.get(&format!("/{i:05}{pad}"));
        assert_eq!(r.status, 200, "request {i} while the sink is stuck");
    }
    assert!(
        sink.entered.load(std::sync::atomic::Ordering::SeqCst),
        "the sink was never written"
    );
    assert!(
        sink.written.lock().unwrap().is_empty(),
        "the sink let a write through"
    );
    sink.open();
    let written = || String::from_utf8(sink.written.lock().unwrap().clone()).unwrap();
    eventually(
        Duration::from_secs(10),
        || format!("{} lines written", written().lines().count()),
        || written().lines().count() > 900,
    );
    let log = written();
    let numbers: Vec<usize> = log
        .lines()
        .map(|l| {
            let at = l.find("\"GET /").expect("a request line") + 6;
            l[at..at + 5].parse().unwrap()
        })
        .collect();
    // The lines kept arrive in order, from the first request on; about
    // 4 MiB of them (1,000 or so) were kept while the sink was stuck, the
    // rest dropped rather than buffered.
    assert!(numbers.len() > 900, "only {} lines", numbers.len());
    assert!(numbers.len() < requests, "no line was dropped");
    assert!(
        numbers.iter().enumerate().all(|(i, &n)| i == n),
        "{numbers:?}"
    );
    // The shard still answers, and logs again.
    assert_eq!(c.get("/again").status, 200);
}

#[test]
fn a_server_stops_while_its_access_log_sink_is_stuck() {
    let sink = StuckSink::default();
    let s2 = sink.clone();
    let s = TestServer::start(move || {
        Router::new()
            .middleware(AccessLog::to_writer(s2))
            .get("/", |_r: Request| async { "ok" })
    });
    let mut c = s.connect();
    assert_eq!(c.get("/").status, 200);
    // The once-a-second flush hands the line to the pool, which blocks.
    eventually(
        Duration::from_secs(5),
        || "the sink was never written".into(),
        || sink.entered.load(std::sync::atomic::Ordering::SeqCst),
    );
    assert_eq!(c.get("/").status, 200);
    drop(c);
    // The log's last lines go to the pool rather than wait for the sink
    // on the shard, so the server stops.
    let stopping = s.stop_in_background();
    eventually(
        Duration::from_secs(10),
        || "the server did not stop while its log sink was stuck".into(),
        || stopping.is_finished(),
    );
    stopping.finish_within(Duration::from_secs(10));
    sink.open();
    // Both lines still reach the sink once it moves again.
    let lines = || {
        String::from_utf8(sink.written.lock().unwrap().clone())
            .unwrap()
            .lines()
            .count()
    };
    eventually(
        Duration::from_secs(5),
        || format!("{} lines written", lines()),
        || lines() == 2,
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
