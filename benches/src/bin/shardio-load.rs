//! `shardio-load`: an HTTP/1.1 load generator with closed-loop (wrk) and
//! open-loop, coordinated-omission-corrected (wrk2) modes. See
//! `shardio_benches::load` for how it measures.
//!
//! ```text
//! shardio-load http://127.0.0.1:8080/ -c 64 -d 10s
//! shardio-load http://127.0.0.1:8080/ -c 64 -d 10s --rate 50000 --hgrm out.hgrm
//! ```

use clap::Parser;
use shardio_benches::load::{self, Config, Target};
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Load an HTTP/1.1 server and report throughput, errors and latency
/// percentiles.
#[derive(Debug, Parser)]
#[command(name = "shardio-load", version)]
struct Args {
    /// The URL to request (http:// only).
    url: String,
    /// Connections, spread over the shards.
    #[arg(short = 'c', long, default_value_t = 10)]
    connections: usize,
    /// How long to measure: `10s`, `500ms`, `1m`.
    #[arg(short = 'd', long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Load applied before measuring, not counted.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Open loop: send this many requests per second in all, evenly spread,
    /// and measure latency from each request's scheduled time (corrects
    /// coordinated omission). Without it: closed loop, as fast as possible.
    #[arg(short = 'R', long)]
    rate: Option<f64>,
    /// Requests per write, closed loop only.
    #[arg(long, default_value_t = 1)]
    pipeline: usize,
    /// Threads of the generator, each with its own io_uring ring.
    #[arg(long, default_value_t = 1)]
    shards: usize,
    /// An extra request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    /// The request method.
    #[arg(short = 'm', long, default_value = "GET")]
    method: String,
    /// Send this file's contents as every request's body.
    #[arg(long)]
    body_file: Option<PathBuf>,
    /// Send `Connection: close` and open a new connection per request.
    #[arg(long)]
    no_keepalive: bool,
    /// How long a request may wait for its response (and a connect for its
    /// connection) before it counts as a timeout.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Also write the latency distribution to FILE, in HdrHistogram's
    /// percentile format (.hgrm, milliseconds).
    #[arg(long, value_name = "FILE")]
    hgrm: Option<PathBuf>,
    /// No live progress line.
    #[arg(short = 'q', long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shardio-load: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> io::Result<()> {
    let mut config = Config::new(Target::parse(&args.url)?);
    config.connections = args.connections;
    config.duration = args.duration;
    config.warmup = args.warmup;
    config.rate = args.rate;
    config.pipeline = args.pipeline;
    config.shards = args.shards;
    config.method = args.method;
    config.keepalive = !args.no_keepalive;
    config.timeout = args.timeout;
    config.progress = !args.quiet && !args.json;
    config.headers = args
        .headers
        .iter()
        .map(|h| match h.split_once(':') {
            Some((name, value)) if !name.trim().is_empty() => {
                Ok((name.trim().to_string(), value.trim().to_string()))
            }
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("header {h:?} is not `Name: value`"),
            )),
        })
        .collect::<io::Result<_>>()?;
    if let Some(path) = &args.body_file {
        let body = std::fs::read(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        config.body = Some(body.into());
    }
    let report = load::run(config)?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{report}");
    }
    if let Some(path) = &args.hgrm {
        let mut file = io::BufWriter::new(std::fs::File::create(path)?);
        report.write_hgrm(&mut file)?;
    }
    Ok(())
}
