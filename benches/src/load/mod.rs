//! `shardio-load`: an HTTP/1.1 load generator on shardio itself.
//!
//! Two ways to load a server:
//!
//! - **Closed loop** (like wrk): each connection writes a request (or a
//!   pipelined batch), waits for the responses, and writes again at once.
//!   It finds how fast the server can go. Latency runs from each write.
//! - **Open loop** (like wrk2, with `rate`): requests are scheduled at a
//!   constant rate, spread evenly over the connections, and latency runs
//!   from each request's *scheduled* instant. When the server stalls, the
//!   requests that should have been sent meanwhile are late, and their
//!   lateness is counted: coordinated omission is corrected. Requests go
//!   out with microsecond timing ([`shardio::time::precise_sleep_until`]).
//!   Each connection has one request outstanding, so give it enough
//!   connections for the rate (rate × latency at least).
//!
//! Every response is parsed to its end (Content-Length, chunked, or the
//! connection's end) and checked: statuses are counted, malformed
//! responses, resets, timeouts and failed connects are errors by kind.
//! Latencies go into per-shard HDR histograms, merged at the end.
//!
//! Requests sent in the measurement window are waited for (up to the
//! timeout) after it closes, so a slow last response is counted rather
//! than dropped.
//!
//! ```no_run
//! use shardio_benches::load::{self, Config, Target};
//! use std::time::Duration;
//!
//! let mut config = Config::new(Target::parse("http://127.0.0.1:8080/")?);
//! config.connections = 64;
//! config.duration = Duration::from_secs(5);
//! config.rate = Some(20_000.0);
//! let report = load::run(config)?;
//! println!("{report}");
//! # Ok::<_, std::io::Error>(())
//! ```

mod conn;
mod live;
mod report;
mod request;
mod response;
mod shard;
mod stats;
mod target;

pub use report::{Latency, Report, PERCENTILES};
pub use stats::{Errors, Stats};
pub use target::Target;

use bytes::Bytes;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to load the target. [`Config::new`] gives wrk's defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to send requests.
    pub target: Target,
    /// Connections, spread over the shards.
    pub connections: usize,
    /// The measurement window.
    pub duration: Duration,
    /// Load applied before the window opens, not measured.
    pub warmup: Duration,
    /// `Some(r)`: open loop at `r` requests/s. `None`: closed loop.
    pub rate: Option<f64>,
    /// Requests per write in the closed loop.
    pub pipeline: usize,
    /// Threads (shards) of the generator.
    pub shards: usize,
    /// The request method.
    pub method: String,
    /// Extra header fields (a `Host` here replaces the URL's).
    pub headers: Vec<(String, String)>,
    /// A request body, sent with Content-Length.
    pub body: Option<Bytes>,
    /// `false`: `Connection: close` on every request, a new connection each.
    pub keepalive: bool,
    /// How long a request may wait for its response, and a connect for its
    /// connection.
    pub timeout: Duration,
    /// Print the live progress line on stderr.
    pub progress: bool,
}

impl Config {
    /// 10 connections, 10 s, closed loop, GET, keep-alive, one shard, a 5 s
    /// timeout.
    pub fn new(target: Target) -> Config {
        Config {
            target,
            connections: 10,
            duration: Duration::from_secs(10),
            warmup: Duration::ZERO,
            rate: None,
            pipeline: 1,
            shards: 1,
            method: "GET".to_string(),
            headers: Vec::new(),
            body: None,
            keepalive: true,
            timeout: Duration::from_secs(5),
            progress: false,
        }
    }

    fn check(&self) -> io::Result<()> {
        let invalid = |why: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, why.to_string()));
        if self.connections == 0 || self.shards == 0 || self.pipeline == 0 {
            return invalid("connections, shards and pipeline must be at least 1");
        }
        if self.duration.is_zero() || self.timeout.is_zero() {
            return invalid("the duration and the timeout must be more than zero");
        }
        if self.pipeline > 1 && self.rate.is_some() {
            return invalid("pipelining is for the closed loop; the open loop sends one request per connection at a time");
        }
        if self.pipeline > 1 && !self.keepalive {
            return invalid("pipelining needs keep-alive");
        }
        if self.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
            return invalid("the rate must be a positive number of requests per second");
        }
        if self.shards > self.connections {
            return invalid("more shards than connections");
        }
        Ok(())
    }
}

/// Runs the load and returns what it measured.
///
/// # Errors
///
/// An invalid configuration, or a shard that could not start (no
/// io_uring, for one). Failures of the target are not errors of the run:
/// they are counted in the report.
pub fn run(config: Config) -> io::Result<Report> {
    config.check()?;
    let config = Arc::new(config);
    let request = request::build(&config);
    let results = Mutex::new(Stats::default());
    let live = config.progress.then(|| Arc::new(live::Live::new()));
    let printer = live
        .as_ref()
        .map(|l| l.print(config.warmup + config.duration));
    let start = Instant::now();
    let ran = shardio::Runtime::builder()
        .shards(config.shards)
        // Placement is the caller's (`taskset`): a pinned shard could land
        // on the server's core.
        .pin_to_cores(false)
        .thread_name("shardio-load")
        .build()
        .and_then(|runtime| {
            runtime.run(|shard| {
                let (config, request, live) = (config.clone(), request.clone(), live.clone());
                let results = &results;
                async move {
                    let stats =
                        shard::run(config, request, start, shard.id(), shard.count(), live).await;
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .merge(&stats);
                    Ok(())
                }
            })
        });
    if let Some(printer) = printer {
        printer.stop();
    }
    ran?;
    let stats = results.into_inner().unwrap_or_else(|e| e.into_inner());
    Ok(Report::new(&config, stats))
}
