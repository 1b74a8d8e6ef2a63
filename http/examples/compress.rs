//! Compressed answers, in memory and streamed, next to a small one:
//!
//! * `GET /` → `Hello, World!` (too small to compress)
//! * `GET /report` → a JSON array of about 4 MiB, built once per shard and
//!   compressed for each request that accepts gzip or deflate
//! * `GET /log` → 200 lines streamed one by one, each compressed and
//!   flushed as it is produced
//!
//! ```sh
//! cargo run --release -p shardio-http --example compress -- --addr 127.0.0.1:8080
//! curl --compressed -s http://127.0.0.1:8080/log | tail -n 2
//! ```
//!
//! `--level N` sets the compression level (0 to 9, default 6).
//!
//! `scripts/bench-compress.sh` loads `/report` and `/` together, to show
//! what compressing a big body costs the shard's other requests.

use bytes::Bytes;
use shardio_http::middleware::Compress;
use shardio_http::{Request, Response, Router, Server};
use std::io;

/// About 4 MiB of JSON, compressible as real API answers are.
fn report() -> Bytes {
    let rows: Vec<String> = (0..60_000)
        .map(|i| {
            format!(
                r#"{{"id":{i},"name":"item {i}","price":{},"stock":true}}"#,
                i % 997
            )
        })
        .collect();
    Bytes::from(format!("[{}]", rows.join(",")))
}

fn router(level: u32) -> Router {
    let report = report();
    Router::new()
        .middleware(Compress::new().level(level))
        .get("/", |_r: Request| async { "Hello, World!" })
        .get("/report", move |_r: Request| {
            let report = report.clone();
            async move { Response::json(report) }
        })
        .get("/log", |_r: Request| async {
            let lines = (0..200).map(|i| Ok(Bytes::from(format!("line {i}: all well\n"))));
            Response::stream(futures_util::stream::iter(lines))
                .with_header("content-type", "text/plain; charset=utf-8")
        })
}

fn main() -> io::Result<()> {
    let mut addr = String::from("127.0.0.1:8080");
    let mut level = 6;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let usage = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unexpected {arg}; usage: compress [--addr HOST:PORT] [--level 0-9]"),
            )
        };
        match (arg.as_str(), args.next()) {
            ("--addr", Some(value)) => addr = value,
            ("--level", Some(value)) => level = value.parse().map_err(|_| usage())?,
            _ => return Err(usage()),
        }
    }
    println!("listening on http://{addr}");
    shardio::Runtime::builder()
        .shards(1)
        .handle_signals(true)
        .build()?
        .run(|_shard| {
            let addr = addr.clone();
            async move { Server::new().bind_and_serve(addr, router(level)).await }
        })
}
