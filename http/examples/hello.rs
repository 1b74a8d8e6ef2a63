//! The hello-world server used by the benchmarks:
//!
//! * `GET /` → `Hello, World!` (text/plain)
//! * `GET /json` → `{"message":"Hello, World!"}`
//! * `GET /user/:id` → the id
//! * `POST /echo` → the request body
//!
//! ```sh
//! cargo run --release -p shardio-http --example hello -- --addr 127.0.0.1:8080 --shards 2
//! ```
//!
//! Connections receive the default way ([`Receive::Adaptive`]): a receive
//! per wait, and from a connection's third request a multishot receive kept
//! armed until it idles. `--per-wait` makes every wait submit a receive of
//! its own ([`Receive::PerWait`]), `--multishot` keeps one receive armed per
//! connection for its life ([`Receive::Multishot`]).

use shardio_http::{BodyError, Receive, Request, Response, Router, Server};
use std::io;

async fn hello(_req: Request) -> Response {
    Response::with_body("text/plain", "Hello, World!")
}

async fn json(_req: Request) -> Response {
    Response::json(r#"{"message":"Hello, World!"}"#)
}

async fn user(req: Request) -> String {
    req.param("id").unwrap_or_default().into_owned()
}

async fn echo(mut req: Request) -> Result<Response, BodyError> {
    let body = req.take_body().collect().await?;
    Ok(Response::with_body("application/octet-stream", body))
}

fn main() -> io::Result<()> {
    let mut addr = String::from("127.0.0.1:8080");
    let mut shards = 1;
    let mut receive = Receive::Adaptive;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next().ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("{arg} needs a value"))
            })
        };
        match arg.as_str() {
            "--addr" => addr = value()?,
            "--multishot" => receive = Receive::Multishot,
            "--adaptive" => receive = Receive::Adaptive,
            "--per-wait" => receive = Receive::PerWait,
            "--shards" => {
                shards = value()?.parse().map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("--shards: {e}"))
                })?;
            }
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "unknown argument {other}; usage: hello [--addr HOST:PORT] [--shards N] [--per-wait | --multishot | --adaptive]"
                    ),
                ))
            }
        }
    }
    println!("listening on {addr} with {shards} shard(s)");
    shardio::Runtime::builder()
        .shards(shards)
        .handle_signals(true)
        .build()?
        .run(|_shard| {
            let addr = addr.clone();
            async move {
                let router = Router::new()
                    .get("/", hello)
                    .get("/json", json)
                    .get("/user/:id", user)
                    .post("/echo", echo);
                Server::new()
                    .receive(receive)
                    .bind_and_serve(addr, router)
                    .await
            }
        })
}
