#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Messages between shards: round-trip latency (`submit_to`, and a `Mesh`
//! ping-pong) and one-way messages per second, against two threads talking
//! over `std::sync::mpsc` (whose blocking `recv` parks the thread) in the
//! same run. Shard 0 runs on core 0 and shard 1 on core 1 when there are two
//! usable cores.
//!
//! Run: `cargo bench -p shardio-benches --bench mesh`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use shardio::mesh::{submit_to, Mesh};
use shardio::Runtime;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

fn two_shards(msg_ring: bool) -> Runtime {
    let pin = core_count() >= 2;
    Runtime::builder()
        .shards(2)
        .pin_to_cores(pin)
        .msg_ring_doorbell(msg_ring)
        .build()
        .unwrap()
}

fn core_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `body` on shard 0 while shard 1 serves `serve`; returns what shard
/// 0 measured.
fn measure<B, BF, S, SF>(msg_ring: bool, body: B, serve: S) -> Duration
where
    B: Fn() -> BF + Send + Sync,
    BF: std::future::Future<Output = Duration>,
    S: Fn() -> SF + Send + Sync,
    SF: std::future::Future<Output = ()>,
{
    let took = Arc::new(Mutex::new(Duration::ZERO));
    let rt = two_shards(msg_ring);
    let stop = rt.shutdown_handle();
    rt.run(|shard| {
        let (took, stop) = (took.clone(), stop.clone());
        let (body, serve) = (&body, &serve);
        async move {
            if shard.id() == 0 {
                *took.lock().unwrap() = body().await;
                stop.shutdown(Duration::ZERO);
            } else {
                serve().await;
            }
            shardio::shutdown_signal().await;
            Ok(())
        }
    })
    .unwrap();
    let d = *took.lock().unwrap();
    d
}

fn roundtrip(c: &mut Criterion) {
    let mut g = c.benchmark_group("cross_shard_roundtrip");
    g.throughput(Throughput::Elements(1));
    for (name, msg_ring) in [("msg_ring", true), ("eventfd", false)] {
        g.bench_function(BenchmarkId::new("submit_to", name), |b| {
            b.iter_custom(|iters| {
                measure(
                    msg_ring,
                    || async move {
                        let start = Instant::now();
                        for i in 0..iters {
                            std::hint::black_box(submit_to(1, move || i).await.unwrap());
                        }
                        start.elapsed()
                    },
                    std::future::pending::<()>,
                )
            })
        });
        g.bench_function(BenchmarkId::new("mesh_ping_pong", name), |b| {
            b.iter_custom(|iters| {
                let mesh = Mesh::<u64>::new(2, 64);
                let m0 = mesh.clone();
                measure(
                    msg_ring,
                    move || {
                        let mesh = m0.clone();
                        async move {
                            let start = Instant::now();
                            for i in 0..iters {
                                mesh.send_to(1, i).await.unwrap();
                                mesh.recv().await.unwrap();
                            }
                            start.elapsed()
                        }
                    },
                    move || {
                        let mesh = mesh.clone();
                        async move {
                            loop {
                                let (_, v) = mesh.recv().await.unwrap();
                                mesh.send_to(0, v).await.unwrap();
                            }
                        }
                    },
                )
            })
        });
    }
    g.bench_function(BenchmarkId::new("std_mpsc_park", "threads"), |b| {
        b.iter_custom(|iters| {
            let (to_b, from_a) = mpsc::channel::<u64>();
            let (to_a, from_b) = mpsc::channel::<u64>();
            let echo = std::thread::spawn(move || {
                for v in from_a {
                    to_a.send(v).unwrap();
                }
            });
            let start = Instant::now();
            for i in 0..iters {
                to_b.send(i).unwrap();
                std::hint::black_box(from_b.recv().unwrap());
            }
            let took = start.elapsed();
            drop(to_b);
            echo.join().unwrap();
            took
        })
    });
    g.finish();
}

fn throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("cross_shard_messages");
    g.throughput(Throughput::Elements(1));
    g.bench_function(BenchmarkId::new("mesh", "one_way"), |b| {
        b.iter_custom(|iters| {
            let mesh = Mesh::<u64>::new(2, 1024);
            let m0 = mesh.clone();
            measure(
                true,
                move || {
                    let mesh = m0.clone();
                    async move {
                        let start = Instant::now();
                        for i in 0..iters {
                            mesh.send_to(1, i).await.unwrap();
                        }
                        // The receiver acknowledges the last one.
                        mesh.recv().await.unwrap();
                        start.elapsed()
                    }
                },
                move || {
                    let mesh = mesh.clone();
                    async move {
                        let mut n = 0;
                        while n < iters {
                            mesh.recv().await.unwrap();
                            n += 1;
                        }
                        mesh.send_to(0, n).await.unwrap();
                        std::future::pending::<()>().await
                    }
                },
            )
        })
    });
    g.bench_function(BenchmarkId::new("std_sync_channel", "one_way"), |b| {
        b.iter_custom(|iters| {
            let (tx, rx) = mpsc::sync_channel::<u64>(1024);
            let start = Instant::now();
            let sink = std::thread::spawn(move || rx.into_iter().count());
            for i in 0..iters {
                tx.send(i).unwrap();
            }
            drop(tx);
            sink.join().unwrap();
            start.elapsed()
        })
    });
    g.finish();
}

criterion_group!(benches, roundtrip, throughput);
criterion_main!(benches);
