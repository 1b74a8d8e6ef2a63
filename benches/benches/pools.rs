#![allow(missing_docs)] // criterion_group! generates undocumented items
//! Pool benches: a pooled get+drop (`Pool`, and `LocalPool` whose handles
//! stay home) against `Box::new`+drop and `Vec`
//! allocation, at 64 B, 4 KiB and 64 KiB, on one shard and with the
//! handles dropped on another thread (returned home through the pool's
//! queue; freed across threads for the allocator).
//!
//! Run: `cargo bench -p shardio-benches --bench pools`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use shardio::pool::{BufPool, Pool};
use std::hint::black_box;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Times `iters` runs of `f` on a fresh shard.
fn on_shard(iters: u64, f: impl FnOnce(u64) -> Duration + 'static) -> Duration {
    shardio::block_on(async move { f(iters) }).unwrap()
}

macro_rules! sizes {
    ($g:ident, $($n:literal),*) => {$(
        $g.bench_with_input(BenchmarkId::new("pool", $n), &$n, |b, _| {
            b.iter_custom(|iters| on_shard(iters, |iters| {
                let pool = Pool::builder(|| [0u8; $n]).capacity(16).build();
                let start = Instant::now();
                for _ in 0..iters {
                    let h = pool.get().unwrap();
                    black_box(&*h);
                }
                start.elapsed()
            }))
        });
        $g.bench_with_input(BenchmarkId::new("local_pool", $n), &$n, |b, _| {
            b.iter_custom(|iters| on_shard(iters, |iters| {
                let pool = Pool::builder(|| [0u8; $n]).capacity(16).build_local();
                let start = Instant::now();
                for _ in 0..iters {
                    let h = pool.get().unwrap();
                    black_box(&*h);
                }
                start.elapsed()
            }))
        });
        $g.bench_with_input(BenchmarkId::new("buf_pool", $n), &$n, |b, _| {
            b.iter_custom(|iters| on_shard(iters, |iters| {
                let pool = BufPool::new();
                let start = Instant::now();
                for _ in 0..iters {
                    let h = pool.get($n).unwrap();
                    black_box(h.as_ptr());
                }
                start.elapsed()
            }))
        });
        $g.bench_with_input(BenchmarkId::new("box_new", $n), &$n, |b, _| {
            b.iter(|| black_box(Box::new([0u8; $n])))
        });
        $g.bench_with_input(BenchmarkId::new("vec_alloc", $n), &$n, |b, _| {
            b.iter(|| black_box(Vec::<u8>::with_capacity($n)))
        });
    )*};
}

fn single_shard(c: &mut Criterion) {
    let mut g = c.benchmark_group("get_put");
    g.throughput(Throughput::Elements(1));
    sizes!(g, 64, 4096, 65536);
    g.finish();
}

const BATCH: usize = 64;

/// Makes `iters` buffers with `make`, each touched as a filled buffer would
/// be, and drops them on another thread in batches of 64 sent over a channel
/// (the same channel cost for every variant). Returns the time taken.
fn drop_elsewhere<B, M>(iters: u64, mut make: M) -> Duration
where
    B: std::ops::DerefMut<Target = Vec<u8>> + Send + 'static,
    M: FnMut() -> B,
{
    let (tx, rx) = mpsc::sync_channel::<Vec<B>>(2);
    let dropper = std::thread::spawn(move || rx.into_iter().for_each(drop));
    let start = Instant::now();
    let mut batch = Vec::with_capacity(BATCH);
    for _ in 0..iters {
        let mut buf = make();
        buf.push(1);
        batch.push(buf);
        if batch.len() == BATCH {
            tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))
                .unwrap();
        }
    }
    drop(tx);
    dropper.join().unwrap();
    start.elapsed()
}

/// A `Vec<u8>` that derefs to itself, so plain allocation fits
/// `drop_elsewhere` beside pooled buffers.
struct Plain(Vec<u8>);

impl std::ops::Deref for Plain {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl std::ops::DerefMut for Plain {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

/// Handles are made on the shard and dropped on another thread: pooled ones
/// go home through the pool's queue, plain ones are freed across threads.
fn cross_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("cross_thread_return");
    g.throughput(Throughput::Elements(1));
    for size in [64usize, 4096, 65536] {
        g.bench_with_input(BenchmarkId::new("buf_pool", size), &size, |b, &size| {
            b.iter_custom(|iters| {
                on_shard(iters, move |iters| {
                    let pool = BufPool::builder().class(size, 4 * BATCH).build();
                    drop_elsewhere(iters, || pool.get(size).unwrap())
                })
            })
        });
        g.bench_with_input(BenchmarkId::new("vec_alloc", size), &size, |b, &size| {
            b.iter_custom(|iters| drop_elsewhere(iters, || Plain(Vec::with_capacity(size))))
        });
    }
    g.finish();
}

criterion_group!(benches, single_shard, cross_thread);
criterion_main!(benches);
