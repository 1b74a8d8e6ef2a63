#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Messages between shards: round-trip latency (`submit_to`, and a `Mesh`
//! ping-pong) and one-way messages per second, against two threads talking
//! over `std::sync::mpsc` that park when there is nothing to do and unpark
//! each other (`try_recv` + `thread::park`, so neither side spins — the
//! same rule the shards follow) in the same run. Shard 0 runs on core 0 and shard 1 on core 1 when there are two
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
            let me = std::thread::current();
            let echo = std::thread::spawn(move || {
                while let Some(v) = recv_parked(&from_a) {
                    to_a.send(v).unwrap();
                    me.unpark();
                }
            });
            let peer = echo.thread().clone();
            let start = Instant::now();
            for i in 0..iters {
                to_b.send(i).unwrap();
                peer.unpark();
                std::hint::black_box(recv_parked(&from_b).unwrap());
            }
            let took = start.elapsed();
            drop(to_b);
            peer.unpark();
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
    g.bench_function(BenchmarkId::new("std_mpsc_park", "one_way"), |b| {
        b.iter_custom(|iters| {
            let (tx, rx) = mpsc::sync_channel::<u64>(1024);
            let me = std::thread::current();
            let start = Instant::now();
            let sink = std::thread::spawn(move || {
                let mut n = 0u64;
                while recv_parked(&rx).is_some() {
                    n += 1;
                    me.unpark(); // room for a sender that parked on a full channel
                }
                n
            });
            let peer = sink.thread().clone();
            for i in 0..iters {
                let mut v = i;
                loop {
                    match tx.try_send(v) {
                        Ok(()) => break,
                        Err(mpsc::TrySendError::Full(back)) => {
                            v = back;
                            peer.unpark();
                            std::thread::park();
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
                peer.unpark();
            }
            drop(tx);
            peer.unpark();
            sink.join().unwrap();
            start.elapsed()
        })
    });
    g.finish();
}

/// The baseline's receive: take a message if there is one, otherwise park
/// until the sender unparks this thread (no spinning, like a shard's sleep).
/// `None` once the sender is gone.
fn recv_parked(rx: &mpsc::Receiver<u64>) -> Option<u64> {
    loop {
        match rx.try_recv() {
            Ok(v) => return Some(v),
            Err(mpsc::TryRecvError::Empty) => std::thread::park(),
            Err(mpsc::TryRecvError::Disconnected) => return None,
        }
    }
}

criterion_group!(benches, roundtrip, throughput);
criterion_main!(benches);
