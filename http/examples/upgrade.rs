//! Switching protocols: `GET /echo` with `Connection: upgrade` and
//! `Upgrade: echo` is answered `101`, and the connection then echoes what
//! the client sends, with no HTTP in between. It closes after 30 s without
//! a byte from the client, and says goodbye when the server shuts down
//! (Ctrl-C) rather than wait for the client.
//!
//! ```sh
//! cargo run --release -p shardio-http --example upgrade -- --addr 127.0.0.1:8080
//! printf 'GET /echo HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\nhi\n' \
//!     | nc -q 1 127.0.0.1 8080
//! ```

use futures_util::future::{select, Either};
use shardio_http::{OnUpgrade, Request, Response, Router, Server, Upgraded};
use std::io;
use std::pin::pin;
use std::time::Duration;

const IDLE: Duration = Duration::from_secs(30);

async fn switch(req: Request) -> Response {
    if !req
        .upgrade()
        .is_some_and(|offered| offered.split(',').any(|p| p.trim() == "echo"))
    {
        // RFC 9110 §15.5.22: say what this resource switches to.
        return Response::error(426).with_header("upgrade", "echo");
    }
    let (res, on_upgrade) = Response::upgrade(&req, "echo");
    shardio::spawn_detached(run(on_upgrade));
    res
}

/// The protocol, once the `101` is sent.
async fn run(on_upgrade: OnUpgrade) {
    let Ok(mut conn) = on_upgrade.await else {
        return; // The client went away first.
    };
    let peer = conn.peer_addr();
    let why = echo(&mut conn).await;
    println!("{peer}: {why}");
}

/// Echoes until the client stops, falls silent, or the server drains.
async fn echo(conn: &mut Upgraded) -> &'static str {
    let mut draining = pin!(conn.draining());
    loop {
        // `read` is cancel-safe: when the drain or the idle timer wins the
        // race, no byte already received is lost.
        let read = {
            let read = pin!(shardio::time::timeout(IDLE, conn.read()));
            match select(read, draining.as_mut()).await {
                Either::Left((read, _)) => read,
                Either::Right(_) => break,
            }
        };
        let bytes = match read {
            Ok(Ok(Some(bytes))) => bytes,
            Ok(Ok(None)) => return "closed by the client",
            Ok(Err(_)) => return "connection failed",
            Err(_) => return "idle for too long",
        };
        // The received buffer goes back out as it is: no copy.
        if conn.write_all(bytes).await.0.is_err() {
            return "connection failed";
        }
    }
    let _ = conn.write_all("server going away\n").await;
    "server shutting down"
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = match (args.next().as_deref(), args.next()) {
        (None, _) => "127.0.0.1:8080".to_string(),
        (Some("--addr"), Some(addr)) => addr,
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "usage: upgrade [--addr HOST:PORT]",
            ))
        }
    };
    println!("listening on {addr}");
    shardio::Runtime::builder()
        .handle_signals(true)
        .build()?
        .run(|_shard| {
            let addr = addr.clone();
            async move {
                let router = Router::new().get("/echo", switch);
                Server::new()
                    .grace(Duration::from_secs(5))
                    .bind_and_serve(addr, router)
                    .await
            }
        })
}
