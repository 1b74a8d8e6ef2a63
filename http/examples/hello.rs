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

fn router() -> Router {
    Router::new()
        .get("/", hello)
        .get("/json", json)
        .get("/user/:id", user)
        .post("/echo", echo)
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
                Server::new()
                    .receive(receive)
                    .bind_and_serve(addr, router())
                    .await
            }
        })
}

#[cfg(test)]
mod tests {
    use super::router;
    use shardio::net::{TcpListener, TcpStream};
    use shardio_http::Server;
    use std::net::SocketAddr;

    /// Sends `request` (which asks to close) and reads the answer to its end.
    async fn exchange(addr: SocketAddr, request: &str) -> String {
        let stream = TcpStream::connect_addr(addr).await.unwrap();
        let (sent, _) = stream.write_all(request.as_bytes().to_vec()).await;
        sent.unwrap();
        let mut answer = Vec::new();
        loop {
            let (n, buf) = stream.read(Vec::with_capacity(4096)).await;
            if n.unwrap() == 0 {
                break;
            }
            answer.extend_from_slice(&buf);
        }
        String::from_utf8(answer).unwrap()
    }

    /// The head's status line and fields (names lowercased), and the body.
    fn split(answer: &str) -> (String, String) {
        let (head, body) = answer.split_once("\r\n\r\n").expect("a complete head");
        (head.to_ascii_lowercase(), body.to_string())
    }

    /// Every route answers what the benchmarks compare with the peers:
    /// `GET /` in the peers' own bytes, `text/plain` (115 bytes in all).
    #[test]
    fn every_route_answers_as_documented() {
        shardio::block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            shardio::spawn_detached(async move {
                let _ = Server::new().serve(listener, router()).await;
            });
            let get =
                |path: &str| format!("GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");

            let answer = exchange(addr, &get("/")).await;
            let (head, body) = split(&answer);
            assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
            assert!(head.contains("\r\ncontent-type: text/plain\r\n"), "{head}");
            assert_eq!(body, "Hello, World!");
            // Plus the `connection: close` the request asked for.
            assert_eq!(answer.len(), 115 + "\r\nconnection: close".len());

            let (head, body) = split(&exchange(addr, &get("/json")).await);
            assert!(
                head.contains("\r\ncontent-type: application/json"),
                "{head}"
            );
            assert_eq!(body, r#"{"message":"Hello, World!"}"#);

            let (_, body) = split(&exchange(addr, &get("/user/42")).await);
            assert_eq!(body, "42");

            let echo = "POST /echo HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\
                        Content-Length: 5\r\n\r\nhello";
            let (head, body) = split(&exchange(addr, echo).await);
            assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
            assert_eq!(body, "hello");
        })
        .unwrap();
    }
}
