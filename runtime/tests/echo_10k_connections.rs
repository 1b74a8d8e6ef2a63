//! 10,000 concurrent connections echoing on one server shard: every byte
//! comes back, and nothing is left open after.
//!
//! The clients run in a child process (this test binary, re-run in its client
//! role) so that neither process needs more than ~10,000 fds.

mod util;

use shardio::net::{TcpListener, TcpStream};
use shardio::IoBuf;
use std::process::Command;
use util::{assert_shard_idle, open_fds, raise_nofile};

const CONNS: usize = 10_000;
const ROUNDS: usize = 3;
const CHILD_ENV: &str = "SHARDIO_ECHO_CLIENT_ADDR";

#[test]
fn echo_10k_connections() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return; // the client role runs in `client_role`
    }
    let limit = raise_nofile(CONNS as u64 + 512);
    assert!(
        limit >= CONNS as u64 + 256,
        "RLIMIT_NOFILE hard limit {limit} is below the {} fds this test needs",
        CONNS + 256
    );
    let before = open_fds();
    shardio::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "client_role", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, addr.to_string())
            .spawn()
            .unwrap();
        let mut handlers = Vec::with_capacity(CONNS);
        let mut peak_open = 0;
        for _ in 0..CONNS {
            let (stream, _) = listener.accept().await.unwrap();
            handlers.push(shardio::spawn(async move {
                let mut buf = Vec::with_capacity(64);
                let mut echoed = 0;
                loop {
                    let (n, b) = stream.read(buf).await;
                    let n = n.unwrap();
                    if n == 0 {
                        break;
                    }
                    echoed += n;
                    let (w, mut b) = stream.write_all(b).await;
                    w.unwrap();
                    b.clear();
                    buf = b;
                }
                echoed
            }));
            peak_open = peak_open.max(shardio::stats().connections_open);
        }
        drop(listener);
        let mut total = 0;
        for h in handlers {
            total += h.await.unwrap();
        }
        let status = shardio::spawn(async move { child.wait() })
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "client process failed: {status}");
        assert!(total > CONNS * ROUNDS * 10, "echoed only {total} bytes");
        assert_shard_idle().await;
        assert_eq!(shardio::stats().connections_accepted as usize, CONNS);
        eprintln!("peak open connections on the server shard: {peak_open}");
    })
    .unwrap();
    assert_eq!(open_fds(), before);
}

/// The client role: open all 10,000 connections first, then echo on all of
/// them concurrently, checking every byte.
#[test]
fn client_role() {
    let Some(addr) = std::env::var_os(CHILD_ENV) else {
        return; // only meaningful as the child of `echo_10k_connections`
    };
    let addr: std::net::SocketAddr = addr.to_str().unwrap().parse().unwrap();
    raise_nofile(CONNS as u64 + 512);
    shardio::block_on(async move {
        let mut clients = Vec::with_capacity(CONNS);
        for wave in 0..CONNS / 500 {
            let connects: Vec<_> = (0..500)
                .map(|_| shardio::spawn(async move { TcpStream::connect(addr).await }))
                .collect();
            for (i, c) in connects.into_iter().enumerate() {
                clients.push((wave * 500 + i, c.await.unwrap().unwrap()));
            }
        }
        assert_eq!(shardio::stats().connections_open as usize, CONNS);
        let echoes: Vec<_> = clients
            .into_iter()
            .map(|(id, stream)| {
                shardio::spawn(async move {
                    for round in 0..ROUNDS {
                        let msg = format!("connection {id:05} round {round}").into_bytes();
                        let (w, msg) = stream.write_all(msg).await;
                        w.unwrap();
                        let mut got = Vec::with_capacity(64);
                        while got.len() < msg.len() {
                            let filled = got.len();
                            let (n, g) = stream.read(got.slice(filled..)).await;
                            assert!(n.unwrap() > 0, "server closed early");
                            got = g.into_inner();
                        }
                        assert_eq!(got, msg);
                    }
                    stream.close().await.unwrap();
                })
            })
            .collect();
        for e in echoes {
            e.await.unwrap();
        }
    })
    .unwrap();
}
