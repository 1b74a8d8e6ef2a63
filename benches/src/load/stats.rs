//! What one shard saw: latencies in an HDR histogram, status counts, bytes
//! and errors by kind. Shards keep their own and merge at the end.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// The histograms' range: 1 ns to one hour, 3 significant digits.
const HIGHEST_NS: u64 = 3_600_000_000_000;
const SIGFIG: u8 = 3;

/// A histogram of latencies in nanoseconds.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_NS, SIGFIG).expect("valid histogram bounds")
}

/// Failures, by kind. A request that fails counts once, under the first
/// thing that went wrong.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Errors {
    /// Connection attempts that failed (refused, reset, timed out).
    pub connect: u64,
    /// Reads that failed, or connections the server closed with requests
    /// still unanswered.
    pub read: u64,
    /// Writes that failed.
    pub write: u64,
    /// Requests with no complete response within `--timeout`.
    pub timeout: u64,
    /// Responses that were not valid HTTP/1.x.
    pub invalid: u64,
}

impl Errors {
    /// All errors together.
    pub fn total(&self) -> u64 {
        self.connect + self.read + self.write + self.timeout + self.invalid
    }

    fn merge(&mut self, other: &Errors) {
        self.connect += other.connect;
        self.read += other.read;
        self.write += other.write;
        self.timeout += other.timeout;
        self.invalid += other.invalid;
    }
}

/// A latency in whole nanoseconds, at least 1 (the histograms' floor).
pub(crate) fn nanos(latency: Duration) -> u64 {
    u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX).max(1)
}

/// Which kind of error to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    Connect,
    Read,
    Write,
    Timeout,
    Invalid,
}

/// Everything measured in the measurement window.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Response latencies (ns): from each request's send (closed loop) or
    /// its scheduled send (open loop) to the end of its response.
    pub latency: Histogram<u64>,
    /// Responses by status code (the index), all three-digit codes: an
    /// array, so counting costs no lookup on the response path.
    statuses: Box<[u64; 1000]>,
    /// Bytes read from the server (heads and bodies).
    pub bytes: u64,
    /// Errors by kind.
    pub errors: Errors,
    /// Requests sent (in the window).
    pub sent: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            latency: histogram(),
            statuses: Box::new([0; 1000]),
            bytes: 0,
            errors: Errors::default(),
            sent: 0,
        }
    }
}

impl Stats {
    /// Responses received.
    pub fn responses(&self) -> u64 {
        self.latency.len()
    }

    /// Responses by status code, the codes seen only.
    pub fn statuses(&self) -> BTreeMap<u16, u64> {
        (0u16..)
            .zip(self.statuses.iter())
            .filter(|(_, n)| **n > 0)
            .map(|(status, n)| (status, *n))
            .collect()
    }

    pub(crate) fn response(&mut self, status: u16, latency: Duration) {
        self.latency.saturating_record(nanos(latency));
        // httparse accepts three digits only, so `status < 1000`.
        self.statuses[usize::from(status)] += 1;
    }

    pub(crate) fn error(&mut self, kind: ErrorKind, requests: u64) {
        let count = match kind {
            ErrorKind::Connect => &mut self.errors.connect,
            ErrorKind::Read => &mut self.errors.read,
            ErrorKind::Write => &mut self.errors.write,
            ErrorKind::Timeout => &mut self.errors.timeout,
            ErrorKind::Invalid => &mut self.errors.invalid,
        };
        *count += requests;
    }

    /// Adds another shard's numbers to these.
    pub fn merge(&mut self, other: &Stats) {
        self.latency
            .add(&other.latency)
            .expect("histograms share bounds");
        for (mine, theirs) in self.statuses.iter_mut().zip(other.statuses.iter()) {
            *mine += theirs;
        }
        self.bytes += other.bytes;
        self.errors.merge(&other.errors);
        self.sent += other.sent;
    }
}
