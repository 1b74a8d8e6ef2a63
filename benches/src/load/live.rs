//! The live progress line: shards flush what they saw every 200 ms into
//! [`Live`]; a plain thread prints requests/s and the p99 so far once a
//! second on stderr, overwriting its own line.

use super::stats::histogram;
use hdrhistogram::Histogram;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Numbers flushed by every shard, since the start (warm-up included).
#[derive(Debug)]
pub(crate) struct Live {
    seen: Mutex<(Histogram<u64>, u64)>,
    stop: AtomicBool,
}

impl Live {
    pub(crate) fn new() -> Live {
        Live {
            seen: Mutex::new((histogram(), 0)),
            stop: AtomicBool::new(false),
        }
    }

    /// Adds a shard's recent latencies and error count.
    pub(crate) fn add(&self, latencies: &Histogram<u64>, errors: u64) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.0.add(latencies).expect("histograms share bounds");
        seen.1 += errors;
    }

    /// Starts the printer thread; [`Printer::stop`] ends it and clears the
    /// line.
    pub(crate) fn print(self: &Arc<Live>, total: Duration) -> Printer {
        let live = self.clone();
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut last = (start, 0u64);
            while !live.stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let now = Instant::now();
                if now - last.0 < Duration::from_secs(1) {
                    continue;
                }
                let (count, p99, errors) = {
                    let seen = live.seen.lock().unwrap_or_else(|e| e.into_inner());
                    (seen.0.len(), seen.0.value_at_quantile(0.99), seen.1)
                };
                let rate = (count - last.1) as f64 / (now - last.0).as_secs_f64();
                last = (now, count);
                eprint!(
                    "\r  {:>5.1}s / {:.0}s  {:>12.0} req/s  p99 {:>10}  errors {:<8}",
                    (now - start).as_secs_f64(),
                    total.as_secs_f64(),
                    rate,
                    super::report::human_ns(p99),
                    errors
                );
                let _ = std::io::stderr().flush();
            }
            eprint!("\r{:79}\r", "");
        });
        Printer {
            live: self.clone(),
            thread,
        }
    }
}

/// The running printer thread.
#[derive(Debug)]
pub(crate) struct Printer {
    live: Arc<Live>,
    thread: JoinHandle<()>,
}

impl Printer {
    pub(crate) fn stop(self) {
        self.live.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}
