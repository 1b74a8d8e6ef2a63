//! A small threaded HTTP server whose answers a test chooses, recording when
//! each request arrived, and a helper that runs the generator against it.

#![allow(dead_code)]

use shardio_benches::load::{self, Config, Report, Target};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How the server answers request number `n` (counted from 0, all
/// connections together).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// 200 with `hello` and Content-Length.
    Ok,
    /// This status, with a short body.
    Status(u16),
    /// 200 with a chunked body.
    Chunked,
    /// Close the connection without answering.
    Close,
    /// Bytes that are not HTTP.
    Garbage,
    /// Never answer (the connection stays open).
    Never,
}

type Policy = dyn Fn(u64) -> Answer + Send + Sync;

pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    /// When each request arrived, and its method and body length.
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    /// Connections accepted.
    accepted: Arc<AtomicU64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Arrival {
    pub(crate) at: Instant,
    pub(crate) method: String,
    pub(crate) body: usize,
}

impl Server {
    /// Starts a server answering with `policy`. With `stall = Some((at,
    /// len))`, every request that arrives between `at` and `at + len` after
    /// the first request waits until the stall ends: the whole server
    /// freezes. Timing it from the first request, not from the start, keeps
    /// a generator that is slow to start from moving the freeze.
    pub(crate) fn start(
        policy: impl Fn(u64) -> Answer + Send + Sync + 'static,
        stall: Option<(Duration, Duration)>,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let policy: Arc<Policy> = Arc::new(policy);
        let counter = Arc::new(AtomicU64::new(0));
        let stall = stall.map(|(at, len)| Stall {
            at,
            len,
            first: Arc::new(OnceLock::new()),
        });
        let recorded = arrivals.clone();
        let accepted = Arc::new(AtomicU64::new(0));
        let accepts = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                accepts.fetch_add(1, Ordering::Relaxed);
                let (policy, counter, recorded, stall) = (
                    policy.clone(),
                    counter.clone(),
                    recorded.clone(),
                    stall.clone(),
                );
                std::thread::spawn(move || serve(stream, &*policy, &counter, &recorded, stall));
            }
        });
        Server {
            addr,
            arrivals,
            accepted,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// When each request arrived, in order.
    pub(crate) fn arrivals(&self) -> Vec<Instant> {
        let mut a: Vec<_> = self.requests().iter().map(|r| r.at).collect();
        a.sort();
        a
    }

    /// How many connections the server accepted.
    pub(crate) fn connections(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Every request received.
    pub(crate) fn requests(&self) -> Vec<Arrival> {
        self.arrivals.lock().unwrap().clone()
    }
}

/// A freeze of the whole server, `at` after the first request, for `len`.
#[derive(Clone)]
struct Stall {
    at: Duration,
    len: Duration,
    /// When the first request arrived, on any connection.
    first: Arc<OnceLock<Instant>>,
}

impl Stall {
    /// How long a request arriving `now` waits: until the freeze ends if it
    /// arrived during it, otherwise not at all.
    fn wait(&self, now: Instant) -> Duration {
        let from = *self.first.get_or_init(|| now) + self.at;
        let until = from + self.len;
        if now >= from && now < until {
            until - now
        } else {
            Duration::ZERO
        }
    }
}

fn serve(
    mut stream: TcpStream,
    policy: &Policy,
    counter: &AtomicU64,
    arrivals: &Mutex<Vec<Arrival>>,
    stall: Option<Stall>,
) {
    stream.set_nodelay(true).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // Answer every whole request buffered (pipelined ones included).
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            let Ok(httparse::Status::Complete(head)) = req.parse(&buf) else {
                break;
            };
            let body = req
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map_or(0, |h| {
                    std::str::from_utf8(h.value)
                        .unwrap()
                        .parse::<usize>()
                        .unwrap()
                });
            if buf.len() < head + body {
                break;
            }
            let method = req.method.unwrap_or_default().to_string();
            buf.drain(..head + body);
            let now = Instant::now();
            arrivals.lock().unwrap().push(Arrival {
                at: now,
                method,
                body,
            });
            if let Some(stall) = &stall {
                std::thread::sleep(stall.wait(now));
            }
            let reply: Vec<u8> = match policy(counter.fetch_add(1, Ordering::Relaxed)) {
                Answer::Ok => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec(),
                Answer::Status(s) => format!("HTTP/1.1 {s} X\r\nContent-Length: 2\r\n\r\nno").into_bytes(),
                Answer::Chunked => {
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n".to_vec()
                }
                Answer::Close => return,
                Answer::Garbage => b"this is not http\r\n\r\n".to_vec(),
                Answer::Never => {
                    std::thread::sleep(Duration::from_secs(3600));
                    return;
                }
            };
            if stream.write_all(&reply).is_err() {
                return;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A closed-loop config for `url`: `connections`, `duration`, a 1 s timeout.
pub(crate) fn config(url: &str, connections: usize, duration: Duration) -> Config {
    let mut config = Config::new(Target::parse(url).unwrap());
    config.connections = connections;
    config.duration = duration;
    config.timeout = Duration::from_secs(1);
    config
}

/// Runs the generator and checks the accounting every report must satisfy:
/// each request sent got a response or counts as an error.
pub(crate) fn run(config: Config) -> Report {
    let report = load::run(config).unwrap();
    let e = &report.errors;
    assert_eq!(
        report.sent,
        report.responses + e.read + e.timeout + e.invalid,
        "requests unaccounted for: {report:#?}"
    );
    assert_eq!(report.statuses.values().sum::<u64>(), report.responses);
    report
}
