#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Runtime micro-benchmarks: one op round trip through the ring, spawn+join,
//! timer insert+cancel with 100k timers pending, and a 64-byte TCP echo round
//! trip against a tokio current-thread runtime measured in the same run.
//!
//! Run: `cargo bench -p shardio-benches --bench runtime`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use shardio::net::{TcpListener, TcpStream};
use shardio::IoBuf;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

fn op_roundtrip(c: &mut Criterion) {
    let mut g = c.benchmark_group("op_roundtrip");
    g.throughput(Throughput::Elements(1));
    g.bench_function("nop", |b| {
        b.iter_custom(|iters| {
            shardio::block_on(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    shardio::nop().await.unwrap();
                }
                start.elapsed()
            })
            .unwrap()
        })
    });
    g.finish();
}

fn spawn_join(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_join");
    g.throughput(Throughput::Elements(1));
    g.bench_function("shardio", |b| {
        b.iter_custom(|iters| {
            shardio::block_on(async move {
                let start = Instant::now();
                for i in 0..iters {
                    let v = shardio::spawn(async move { i }).await.unwrap();
                    std::hint::black_box(v);
                }
                start.elapsed()
            })
            .unwrap()
        })
    });
    g.bench_function("tokio_current_thread", |b| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        b.iter_custom(|iters| {
            local.block_on(&rt, async move {
                let start = Instant::now();
                for i in 0..iters {
                    let v = tokio::task::spawn_local(async move { i }).await.unwrap();
                    std::hint::black_box(v);
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

fn timers(c: &mut Criterion) {
    let mut g = c.benchmark_group("timer_insert_cancel");
    g.throughput(Throughput::Elements(1));
    for pending in [0usize, 100_000] {
        g.bench_with_input(
            BenchmarkId::new("pending", pending),
            &pending,
            |b, &pending| {
                b.iter_custom(|iters| {
                    shardio::block_on(async move {
                        let mut cx = Context::from_waker(Waker::noop());
                        // Register `pending` long timers (each polled once).
                        let mut held: Vec<_> = (0..pending)
                            .map(|i| shardio::time::sleep(Duration::from_secs(3600 + i as u64)))
                            .collect();
                        for s in &mut held {
                            assert!(Pin::new(s).poll(&mut cx).is_pending());
                        }
                        let start = Instant::now();
                        for i in 0..iters {
                            let mut s = shardio::time::sleep(Duration::from_millis(10 + i % 5000));
                            // Insert...
                            let _ = Pin::new(&mut s).poll(&mut cx);
                            // ...and cancel.
                            drop(s);
                        }
                        let elapsed = start.elapsed();
                        assert_eq!(shardio::stats().timers_pending as usize, pending);
                        elapsed
                    })
                    .unwrap()
                })
            },
        );
    }
    g.finish();
}

const MSG: usize = 64;

fn echo(c: &mut Criterion) {
    let mut g = c.benchmark_group("echo_roundtrip_64B");
    g.throughput(Throughput::Elements(1));
    g.bench_function("shardio", |b| {
        b.iter_custom(|iters| {
            shardio::block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let addr = listener.local_addr().unwrap();
                shardio::spawn(async move {
                    let (s, _) = listener.accept().await.unwrap();
                    s.set_nodelay(true).unwrap();
                    let mut buf = Vec::with_capacity(4096);
                    loop {
                        let (n, b) = s.read(buf).await;
                        if !matches!(n, Ok(n) if n > 0) {
                            break;
                        }
                        let (w, mut b) = s.write_all(b).await;
                        w.unwrap();
                        b.clear();
                        buf = b;
                    }
                });
                let client = TcpStream::connect(addr).await.unwrap();
                client.set_nodelay(true).unwrap();
                let mut msg = vec![7u8; MSG];
                let mut got = Vec::with_capacity(4096);
                let start = Instant::now();
                for _ in 0..iters {
                    let (w, m) = client.write_all(msg).await;
                    w.unwrap();
                    msg = m;
                    got.clear();
                    while got.len() < MSG {
                        let filled = got.len();
                        let (n, g) = client.read(got.slice(filled..)).await;
                        n.unwrap();
                        got = g.into_inner();
                    }
                }
                start.elapsed()
            })
            .unwrap()
        })
    });
    g.bench_function("tokio_current_thread", |b| {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        b.iter_custom(|iters| {
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let server = tokio::spawn(async move {
                    let (mut s, _) = listener.accept().await.unwrap();
                    s.set_nodelay(true).unwrap();
                    let mut buf = vec![0u8; 4096];
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => s.write_all(&buf[..n]).await.unwrap(),
                        }
                    }
                });
                let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
                client.set_nodelay(true).unwrap();
                let msg = [7u8; MSG];
                let mut got = [0u8; MSG];
                let start = Instant::now();
                for _ in 0..iters {
                    client.write_all(&msg).await.unwrap();
                    client.read_exact(&mut got).await.unwrap();
                }
                let elapsed = start.elapsed();
                drop(client);
                server.await.unwrap();
                elapsed
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    targets = op_roundtrip, spawn_join, timers, echo
}
criterion_main!(benches);
