//! Answers every `GET` with the same body from memory: `--size` bytes
//! (default 4096), `application/octet-stream`. No file, no open-file
//! cache, no zero-copy path: `scripts/bench-static.sh` runs it next to
//! `shardio-serve` as the floor a small-file response cannot go below
//! (the TCP cost of sending that many bytes).
//!
//! ```sh
//! cargo run --release -p shardio-http --example from_memory -- --addr 127.0.0.1:8080 --size 4096
//! ```

use bytes::Bytes;
use shardio_http::{Request, Response, Router, Server};
use std::io;

fn main() -> io::Result<()> {
    let mut addr = String::from("127.0.0.1:8080");
    let mut size = 4096usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("{arg} needs a value"))
        })?;
        match arg.as_str() {
            "--addr" => addr = value,
            "--size" => {
                size = value.parse().map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("--size: {e}"))
                })?;
            }
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("unknown argument {other}; usage: from_memory [--addr HOST:PORT] [--size BYTES]"),
                ))
            }
        }
    }
    let body = Bytes::from(vec![b'x'; size]);
    println!("serving {size} bytes from memory on {addr}");
    shardio::Runtime::builder()
        .shards(1)
        .handle_signals(true)
        .build()?
        .run(move |_shard| {
            let (addr, body) = (addr.clone(), body.clone());
            async move {
                let router = Router::new().get("/*path", move |_req: Request| {
                    let body = body.clone();
                    async move { Response::with_body("application/octet-stream", body) }
                });
                Server::new().bind_and_serve(addr, router).await
            }
        })
}
