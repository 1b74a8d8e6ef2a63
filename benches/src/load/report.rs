//! The end of a run: the summary, the percentile table, `--json`, and the
//! `.hgrm` percentile distribution.

use super::stats::{Errors, Stats};
use super::Config;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io;

/// The percentiles in the table and the JSON.
pub const PERCENTILES: [(&str, f64); 6] = [
    ("p50", 50.0),
    ("p90", 90.0),
    ("p99", 99.0),
    ("p99.9", 99.9),
    ("p99.99", 99.99),
    ("max", 100.0),
];

/// Latency figures in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// The mean.
    pub mean: f64,
    /// Each of [`PERCENTILES`], by name.
    pub percentiles: BTreeMap<&'static str, f64>,
}

/// What a run measured, with the settings it ran under.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The URL under load.
    pub url: String,
    /// `closed` or `open`.
    pub mode: &'static str,
    /// The open loop's target rate (requests/s).
    pub rate: Option<f64>,
    /// Connections, all shards together.
    pub connections: usize,
    /// Requests per write (closed loop).
    pub pipeline: usize,
    /// Shards (threads) of the generator.
    pub shards: usize,
    /// The measurement window, in seconds (warm-up excluded).
    pub duration_s: f64,
    /// Requests sent in the window.
    pub sent: u64,
    /// Responses received to requests sent in the window.
    pub responses: u64,
    /// Responses per second of the window.
    pub requests_per_sec: f64,
    /// Bytes read in the window.
    pub bytes: u64,
    /// Bytes read per second of the window.
    pub bytes_per_sec: f64,
    /// Responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Failures by kind.
    pub errors: Errors,
    /// Response latency.
    pub latency_us: Latency,
    /// Every latency, in nanoseconds.
    #[serde(skip)]
    pub histogram: Histogram<u64>,
}

impl Report {
    pub(crate) fn new(config: &Config, stats: Stats) -> Report {
        let secs = config.duration.as_secs_f64();
        let h = &stats.latency;
        let us = |ns: u64| ns as f64 / 1_000.0;
        let percentiles = PERCENTILES
            .iter()
            .map(|&(name, p)| (name, us(h.value_at_percentile(p))))
            .collect();
        Report {
            url: config.target.url.clone(),
            mode: if config.rate.is_some() {
                "open"
            } else {
                "closed"
            },
            rate: config.rate,
            connections: config.connections,
            pipeline: config.pipeline,
            shards: config.shards,
            duration_s: secs,
            sent: stats.sent,
            responses: stats.responses(),
            requests_per_sec: stats.responses() as f64 / secs,
            bytes: stats.bytes,
            bytes_per_sec: stats.bytes as f64 / secs,
            statuses: stats.statuses(),
            errors: stats.errors,
            latency_us: Latency {
                mean: h.mean() / 1_000.0,
                percentiles,
            },
            histogram: stats.latency,
        }
    }

    /// Responses whose status is not 2xx or 3xx.
    pub fn unsuccessful(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| !(200..400).contains(*s))
            .map(|(_, n)| n)
            .sum()
    }

    /// The report as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }

    /// Writes the latency distribution in HdrHistogram's percentile text
    /// format (`.hgrm`, values in milliseconds), which HdrHistogram's
    /// plotters and `scripts/bench-latency.sh` read.
    pub fn write_hgrm(&self, out: &mut impl io::Write) -> io::Result<()> {
        let h = &self.histogram;
        let ms = |ns: f64| ns / 1_000_000.0;
        writeln!(
            out,
            "{:>12} {:>14} {:>10} {:>14}\n",
            "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
        )?;
        let mut total = 0;
        for v in h.iter_quantiles(5) {
            total += v.count_since_last_iteration();
            let q = v.quantile_iterated_to();
            if q < 1.0 {
                writeln!(
                    out,
                    "{:>12.3} {:>14.12} {:>10} {:>14.2}",
                    ms(v.value_iterated_to() as f64),
                    q,
                    total,
                    1.0 / (1.0 - q)
                )?;
            } else {
                writeln!(
                    out,
                    "{:>12.3} {:>14.12} {:>10}",
                    ms(v.value_iterated_to() as f64),
                    q,
                    total
                )?;
            }
        }
        writeln!(
            out,
            "#[Mean    = {:>12.3}, StdDeviation   = {:>12.3}]",
            ms(h.mean()),
            ms(h.stdev())
        )?;
        writeln!(
            out,
            "#[Max     = {:>12.3}, Total count    = {:>12}]",
            ms(h.max() as f64),
            h.len()
        )?;
        writeln!(
            out,
            "#[Buckets = {:>12}, SubBuckets     = {:>12}]",
            h.buckets(),
            sub_buckets(h)
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.rate {
            Some(rate) => format!("open loop at {rate} req/s"),
            None if self.pipeline > 1 => format!("closed loop, pipeline {}", self.pipeline),
            None => "closed loop".to_string(),
        };
        writeln!(
            f,
            "{} for {:.1}s: {} connections, {} shard(s), {mode}",
            self.url, self.duration_s, self.connections, self.shards
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "  Requests   {:>14} ({:.1}/s, {} sent)",
            self.responses, self.requests_per_sec, self.sent
        )?;
        writeln!(
            f,
            "  Transfer   {:>14} ({}/s)",
            human_bytes(self.bytes as f64),
            human_bytes(self.bytes_per_sec)
        )?;
        let mut statuses = String::new();
        for (status, n) in &self.statuses {
            let _ = write!(statuses, "{status}: {n}  ");
        }
        writeln!(f, "  Statuses   {statuses}")?;
        let e = &self.errors;
        writeln!(
            f,
            "  Errors     {} (connect {}, read {}, write {}, timeout {}, invalid {})",
            e.total(),
            e.connect,
            e.read,
            e.write,
            e.timeout,
            e.invalid
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "  Latency    mean {}",
            human_ns(self.histogram.mean() as u64)
        )?;
        for (name, p) in PERCENTILES {
            writeln!(
                f,
                "  {:>9}  {}",
                name,
                human_ns(self.histogram.value_at_percentile(p))
            )?;
        }
        Ok(())
    }
}

/// The sub-bucket count HdrHistogram derives from the significant figures.
fn sub_buckets(h: &Histogram<u64>) -> u64 {
    (2 * 10u64.pow(u32::from(h.sigfig()))).next_power_of_two()
}

/// `1.23 ms`, `45.6 µs`, `2.00 s`.
pub(crate) fn human_ns(ns: u64) -> String {
    let ns = ns as f64;
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.1} µs", ns / 1e3)
    }
}

fn human_bytes(b: f64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = b;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.2} {}", UNITS[unit])
}
