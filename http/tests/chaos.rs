//! Clients that misbehave in every way at once: resets in the middle of a
//! head, a body, a pipelined burst or a large response; heads cut off by
//! a FIN; garbage; clients gone while their handler still waits, streams
//! or panics. Afterwards the server must hold exactly what it held before
//! (open fds, connections, operations in flight, live tasks, pooled
//! objects out) and still answer correctly.
//!
//! One test, because it counts the process's open fds; it runs the chaos
//! once per receive mode (a receive per wait, one multishot receive kept
//! per connection, and the adaptive mode, whose short tick here stops and
//! makes multishot receives all through, once with room for fewer of
//! them than there are clients).

mod util;

use bytes::Bytes;
use shardio_http::middleware::{Compress, Recover};
use shardio_http::{Receive, Request, Response, Router, Server, Timeouts};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use util::{open_fds, pattern, TestServer};

/// Client threads, and misbehaviours each one runs.
const CLIENTS: usize = 4;
const ROUNDS: usize = 60;

const BIG: usize = 1 << 20;

/// Kinds of client [`misbehave`] plays; the last one is well-behaved.
const KINDS: u64 = 16;
const WELL_BEHAVED: u64 = KINDS - 1;

fn router() -> Router {
    Router::new()
        .middleware(Recover)
        .middleware(Compress::new())
        .get("/", |_r: Request| async { "Hello" })
        .post("/echo", |mut r: Request| async move {
            match r.take_body().collect().await {
                Ok(body) => Response::with_body("application/octet-stream", body),
                Err(e) => Response::text(format!("body: {e}")).with_status(400),
            }
        })
        .get("/big", |_r: Request| async {
            Response::with_body("application/octet-stream", pattern(BIG))
        })
        .get("/text", |_r: Request| async {
            Response::text("compressible text, line after line\n".repeat(8192))
        })
        .get("/stream", |_r: Request| async {
            // Pieces that take their time, so that a client can leave in
            // the middle of the stream.
            let pieces = futures_util::stream::unfold(0, |i| async move {
                if i == 64 {
                    return None;
                }
                shardio::time::sleep(Duration::from_micros(200)).await;
                Some((
                    Ok(Bytes::from(vec![b'a' + (i % 26) as u8; 16 << 10])),
                    i + 1,
                ))
            });
            Response::stream(pieces)
        })
        .get("/wait", |_r: Request| async {
            shardio::time::sleep(Duration::from_millis(20)).await;
            "waited"
        })
        .get("/panic", |_r: Request| async {
            if true {
                panic!("{}", EXPECTED_PANIC);
            }
            "never"
        })
        .get("/submitted", |_r: Request| async {
            shardio::stats().ops_submitted.to_string()
        })
        .get("/stats", |_r: Request| async {
            let s = shardio::stats();
            format!(
                "connections {} ops {} tasks {} pooled {} timers {}",
                s.connections_open, s.ops_in_flight, s.tasks_alive, s.pool_live, s.timers_pending
            )
        })
}

/// What the `/panic` handler panics with, dozens of times a run.
const EXPECTED_PANIC: &str = "a handler that panics";

/// Keeps the handler's expected panics out of the output (a backtrace
/// each, when `RUST_BACKTRACE` is set); every other panic is reported.
fn quiet_expected_panics() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info.payload().downcast_ref::<String>();
        if message.map(String::as_str) != Some(EXPECTED_PANIC) {
            report(info);
        }
    }));
}

fn server(server: Server) -> TestServer {
    let timeouts = Timeouts {
        header: Duration::from_millis(300),
        body_read: Duration::from_millis(300),
        idle: Duration::from_secs(1),
        write: Duration::from_millis(300),
    };
    TestServer::with(server.timeouts(timeouts), router)
}

/// The open fd count once it has not changed for a quarter of a second.
fn quiet_fds() -> usize {
    let mut last = open_fds();
    let mut same = 0;
    while same < 5 {
        std::thread::sleep(Duration::from_millis(50));
        let now = open_fds();
        same = if now == last { same + 1 } else { 0 };
        last = now;
    }
    last
}

/// A small deterministic generator: each client thread replays the same
/// sequence on every run.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Closes with a reset (`SO_LINGER` 0): the server's next operation on
/// the socket fails, whatever it was doing.
fn reset(s: TcpStream) {
    socket2::SockRef::from(&s)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(s);
}

/// Reads at least `n` bytes (or until the server closes).
fn read_some(s: &mut TcpStream, n: usize) -> usize {
    let mut buf = vec![0; 64 << 10];
    let mut got = 0;
    while got < n {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => got += k,
        }
    }
    got
}

/// Reads until the server closes; what it sent.
fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// Sends `bytes` and reads until the server closes: its answer must be
/// `status`.
fn answered_then_closed(mut s: TcpStream, bytes: &[u8], status: u16) {
    s.write_all(bytes).unwrap();
    let got = read_to_close(&mut s);
    let line = format!("HTTP/1.1 {status} ");
    assert!(got.starts_with(line.as_bytes()), "{got:?}");
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: chaos\r\n\r\n").into_bytes()
}

/// `GET`s of `paths`, pipelined in one write.
fn burst(paths: &[&str]) -> Vec<u8> {
    paths.iter().flat_map(|path| get(path)).collect()
}

/// One misbehaving (or, now and then, well-behaved) client.
fn misbehave(addr: SocketAddr, kind: u64, rng: &mut XorShift) {
    let mut s = connect(addr);
    match kind {
        // A head cut short, then a reset or a FIN.
        0 | 1 => {
            let head = get("/");
            let cut = 1 + rng.below(head.len() as u64 - 2) as usize;
            s.write_all(&head[..cut]).unwrap();
            if kind == 0 {
                reset(s);
            } else {
                s.shutdown(Shutdown::Write).unwrap();
                // A FIN inside a head: the server closes, maybe after a 400.
                read_to_close(&mut s);
            }
        }
        // A sized body cut short by a reset.
        2 => {
            s.write_all(b"POST /echo HTTP/1.1\r\nHost: chaos\r\nContent-Length: 1048576\r\n\r\n")
                .unwrap();
            let part = rng.below(256 << 10) as usize;
            let _ = s.write_all(&pattern(part));
            reset(s);
        }
        // A chunked body cut inside a chunk.
        3 => {
            s.write_all(
                b"POST /echo HTTP/1.1\r\nHost: chaos\r\nTransfer-Encoding: chunked\r\n\r\n",
            )
            .unwrap();
            for _ in 0..rng.below(4) {
                let _ = s.write_all(b"400\r\n");
                let _ = s.write_all(&pattern(1024));
                let _ = s.write_all(b"\r\n");
            }
            let _ = s.write_all(b"400\r\nabc");
            reset(s);
        }
        // A pipelined burst of every kind of answer, never read.
        4 => {
            let paths = ["/", "/wait", "/panic", "/big", "/stream", "/text", "/"];
            s.write_all(&burst(&paths)).unwrap();
            if rng.below(2) == 0 {
                read_some(&mut s, rng.below(64 << 10) as usize);
            }
            reset(s);
        }
        // Gone in the middle of a large answer, a stream, or a compressed one.
        5..=7 => {
            let path = ["/big", "/stream", "/text"][(kind - 5) as usize];
            let mut req = get(path);
            if path == "/text" {
                req =
                    format!("GET {path} HTTP/1.1\r\nHost: chaos\r\nAccept-Encoding: gzip\r\n\r\n")
                        .into_bytes();
            }
            s.write_all(&req).unwrap();
            // The compressed answer is small: one read of it, or none.
            let want = if path == "/text" { 1 } else { 128 << 10 };
            read_some(&mut s, rng.below(want) as usize);
            reset(s);
        }
        // Gone while the handler waits.
        8 => {
            s.write_all(&get("/wait")).unwrap();
            reset(s);
        }
        // Garbage: a 400, and the connection closed.
        9 => {
            answered_then_closed(s, b"\x00\x01GARBAGE / HTTP/9\r\n\r\n", 400);
        }
        // `Expect: 100-continue`, then gone after the `100`.
        10 => {
            s.write_all(
                b"POST /echo HTTP/1.1\r\nHost: chaos\r\nContent-Length: 10000\r\nExpect: 100-continue\r\n\r\n",
            )
            .unwrap();
            read_some(&mut s, 1);
            reset(s);
        }
        // A client that asks for large answers and never reads: the
        // server's send stalls until the write deadline, or the reset.
        11 => {
            s.write_all(&burst(&["/big"; 8])).unwrap();
            std::thread::sleep(Duration::from_millis(rng.below(30)));
            reset(s);
        }
        // Clients that stall rather than leave, until a deadline cuts
        // them off: the server gives up a receive or a send in flight.
        12 => {
            // Part of a head: the header deadline.
            answered_then_closed(s, b"GET / HTTP/1.1\r\nHost: cha", 408);
        }
        13 => {
            // Part of a body: the body deadline.
            s.write_all(b"POST /echo HTTP/1.1\r\nHost: chaos\r\nContent-Length: 100\r\n\r\nabc")
                .unwrap();
            read_to_close(&mut s);
        }
        14 => {
            // Large answers never read: the write deadline.
            s.write_all(&burst(&["/big"; 8])).unwrap();
            std::thread::sleep(Duration::from_millis(400));
            read_to_close(&mut s);
        }
        // A well-behaved client, whose answers must be right.
        WELL_BEHAVED => {
            let mut c = util::Client::from_stream(s);
            assert_eq!(c.get("/").text(), "Hello");
            let body = pattern(rng.below(100_000) as usize);
            let mut req = format!(
                "POST /echo HTTP/1.1\r\nHost: chaos\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            req.extend_from_slice(&body);
            c.send(&req);
            let echoed = c.reply().expect("an echo");
            assert_eq!(echoed.status, 200);
            assert!(echoed.body == body, "echo of {} bytes", body.len());
            assert_eq!(c.get("/panic").status, 500);
            assert_eq!(c.get("/wait").text(), "waited");
        }
        _ => unreachable!("client kinds run from 0 to {WELL_BEHAVED}"),
    }
}

/// The server's own account of what it holds, asked over a fresh
/// connection (so it counts that one).
fn stats(addr: SocketAddr) -> String {
    let mut c = util::Client::connect(addr);
    c.get("/stats").text()
}

/// Waits up to 10 s (past the idle deadline) for `now()` to equal `want`;
/// what it last was.
fn settles_to<T: PartialEq>(want: &T, now: impl Fn() -> T) -> T {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let got = now();
        if got == *want || Instant::now() > until {
            return got;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the chaos against `config`, whose connections submit
/// `ops_per_request` ops per request once they have made a few (2 with a
/// receive per wait, 1 with a multishot one).
fn chaos(mode: &str, config: Server, ops_per_request: u64) {
    let server = server(config);
    let addr = server.addr;
    // A well-behaved client first, so that what the server keeps for
    // later (pooled objects, the date, the head cache) is there before
    // the baseline.
    misbehave(addr, WELL_BEHAVED, &mut XorShift(1));
    // The server closes its side of a connection a moment after the
    // client: the baseline is the count once it has stopped moving.
    let baseline_fds = quiet_fds();
    let baseline_stats = stats(addr);

    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            std::thread::spawn(move || {
                let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ ((i as u64 + 1) * 0x1234_5679));
                for _ in 0..ROUNDS {
                    let kind = rng.below(KINDS);
                    misbehave(addr, kind, &mut rng);
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }

    let fds = settles_to(&baseline_fds, open_fds);
    assert_eq!(fds, baseline_fds, "{mode}: fds leaked");
    let held = settles_to(&baseline_stats, || stats(addr));
    assert_eq!(
        held, baseline_stats,
        "{mode}: the server holds more than before"
    );
    // And it still answers, correctly.
    misbehave(addr, WELL_BEHAVED, &mut XorShift(7));
    let mut c = util::Client::connect(addr);
    let big = c.get("/big");
    assert!(big.body == pattern(BIG), "{mode}: /big after the chaos");
    // Every connection that had a multishot receive gave it back: a new
    // one that keeps asking gets one (under `Adaptive`, from the shard's
    // bound).
    let submitted = |c: &mut util::Client| -> u64 { c.get("/submitted").text().parse().unwrap() };
    for _ in 0..4 {
        submitted(&mut c);
    }
    let before = submitted(&mut c);
    assert_eq!(
        submitted(&mut c) - before,
        ops_per_request,
        "{mode}: ops per request after the chaos"
    );
}

#[test]
fn misbehaving_clients_leak_nothing_in_any_receive_mode() {
    quiet_expected_panics();
    chaos("PerWait", Server::new().receive(Receive::PerWait), 2);
    chaos("Multishot", Server::new().receive(Receive::Multishot), 1);
    chaos("Adaptive", Server::new().receive(Receive::Adaptive), 1);
    // With room for two multishot receives among the four clients: the
    // bound is reached, connections give theirs back as they close or
    // idle, and others take them.
    chaos("Adaptive, 2 streams", Server::new().max_multishot(2), 1);
}
