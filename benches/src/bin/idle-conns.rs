//! Memory per idle keep-alive connection: an echo server whose connections
//! wait either in a read with an owned 4 KiB buffer each (`owned`), or in a
//! multishot receive on the shard's provided buffer ring (`multishot`, no
//! buffer of their own; replies are the ring buffers themselves), and a client that opens N connections, makes one
//! round trip on each, and then holds them open.
//!
//! ```text
//! idle-conns server --mode owned|multishot --addr 127.0.0.1:9100
//! idle-conns client --addr 127.0.0.1:9100 --conns 10000
//! idle-conns client --addr 127.0.0.1:8080 --conns 10000 --http --requests 4
//! ```
//!
//! With `--http` the client makes `--requests` (default 1) `GET /` on each
//! connection, one after another, before it holds them.
//!
//! `scripts/bench-idle-rss.sh` runs both and reads the server's RSS.

use shardio::net::{TcpListener, TcpStream};
use shardio::IoBuf;
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

const REQUEST: &[u8] = &[b'x'; 64];
/// With `--http`: the request to an HTTP hello server, whose answer ends
/// with this body.
const HTTP_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: idle\r\n\r\n";
const HTTP_BODY_END: &[u8] = b"Hello, World!";

fn usage() -> ! {
    eprintln!(
        "usage: idle-conns server --mode owned|multishot [--addr IP:PORT]\n       \
         idle-conns client [--addr IP:PORT] [--conns N] [--http [--requests N]]"
    );
    std::process::exit(2)
}

fn main() {
    let flags = shardio_benches::Flags::from_env(usage);
    let addr: SocketAddr = flags.parse("--addr", SocketAddr::from(([127, 0, 0, 1], 9100)));
    let result = match flags.command() {
        Some("server") => match flags.value("--mode").as_deref() {
            Some("owned") => server(addr, false),
            Some("multishot") => server(addr, true),
            _ => usage(),
        },
        Some("client") => {
            let conns = flags.parse("--conns", 10_000);
            let requests = if flags.has("--http") {
                flags.parse("--requests", 1)
            } else {
                1
            };
            client(addr, conns, flags.has("--http"), requests)
        }
        _ => usage(),
    };
    if let Err(e) = result {
        eprintln!("idle-conns: {e}");
        std::process::exit(1);
    }
}

fn server(addr: SocketAddr, multishot: bool) -> std::io::Result<()> {
    shardio::Runtime::builder()
        .shards(1)
        .pin_to_cores(false)
        .handle_signals(true)
        .shutdown_grace(Duration::ZERO)
        .build()?
        .run(|_| async move {
            let listener = TcpListener::bind_with_backlog(addr, 4096)?;
            println!("listening on {addr}");
            std::io::stdout().flush()?;
            loop {
                let (stream, _) = listener.accept().await?;
                if multishot {
                    shardio::spawn(echo_multishot(stream));
                } else {
                    shardio::spawn(echo_owned(stream));
                }
            }
        })
}

/// Waits in a read with its own 4 KiB buffer, the classic way.
async fn echo_owned(stream: TcpStream) {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let (n, b) = stream.read(buf).await;
        if !matches!(n, Ok(n) if n > 0) {
            return;
        }
        let (w, mut b) = stream.write_all(b).await;
        if w.is_err() {
            return;
        }
        b.clear();
        buf = b;
    }
}

/// Waits in a multishot receive: no buffer until bytes arrive; the ring
/// buffer itself is written back (no copy) and returns to the ring after.
async fn echo_multishot(stream: TcpStream) {
    let Ok(mut incoming) = stream.recv_stream() else {
        return;
    };
    while let Some(Ok(chunk)) = incoming.next().await {
        let (w, _) = stream.write_all(chunk).await;
        if w.is_err() {
            return;
        }
    }
}

fn client(addr: SocketAddr, conns: usize, http: bool, requests: usize) -> std::io::Result<()> {
    shardio::block_on(async move {
        let mut held = Vec::with_capacity(conns);
        // Connect in waves so the listen backlog never overflows.
        for wave in (0..conns).collect::<Vec<_>>().chunks(256) {
            let tasks: Vec<_> = wave
                .iter()
                .map(|_| {
                    shardio::spawn(async move {
                        let stream = TcpStream::connect_addr(addr).await?;
                        let request = if http { HTTP_REQUEST } else { REQUEST };
                        let done = |got: &[u8]| {
                            if http {
                                got.ends_with(HTTP_BODY_END)
                            } else {
                                got.len() >= REQUEST.len()
                            }
                        };
                        let mut got = Vec::with_capacity(256);
                        for _ in 0..requests {
                            let (r, _) = stream.write_all(request).await;
                            r?;
                            got.clear();
                            while !done(&got) {
                                let filled = got.len();
                                let (n, b) = stream.read(got.slice(filled..)).await;
                                got = b.into_inner();
                                if n? == 0 {
                                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                                }
                            }
                        }
                        Ok::<_, std::io::Error>(stream)
                    })
                })
                .collect();
            for t in tasks {
                held.push(
                    t.await
                        .map_err(|e| std::io::Error::other(e.to_string()))??,
                );
            }
        }
        println!("ready: {} connections open and idle", held.len());
        std::io::stdout().flush()?;
        // Hold them until killed.
        std::future::pending::<()>().await;
        Ok(())
    })?
}
