//! `Pool<T>` and `BufPool`: objects that go home from other threads
//! without being leaked or touched twice, and the buffer pool's size
//! classes. What `Pool<T>` shares with `LocalPool<T>` (reuse, reset,
//! capacity, counters) is in `pool_kinds.rs`.

mod util;

use shardio::net::{TcpListener, TcpStream};
use shardio::pool::{BufPool, Overflow, Pooled};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use util::Tracked;

#[test]
fn handles_dropped_on_other_threads_go_home() {
    shardio::block_on(async {
        let live = Arc::new(AtomicUsize::new(0));
        let pool = util::tracked_pool(&live, 1000, Overflow::Fail).build();
        let handles: Vec<_> = (0..1000).map(|_| pool.get().unwrap()).collect();
        assert_eq!(pool.live(), 1000);
        // Four threads drop 250 handles each, concurrently.
        let mut chunks: Vec<Vec<Pooled<Tracked>>> = Vec::new();
        let mut it = handles.into_iter();
        for _ in 0..4 {
            chunks.push(it.by_ref().take(250).collect());
        }
        std::thread::scope(|s| {
            for chunk in chunks {
                s.spawn(move || drop(chunk));
            }
        });
        assert_eq!(
            pool.free(),
            0,
            "nothing is reclaimed behind the shard's back"
        );
        assert_eq!(pool.live(), 1000);
        // The pool is at capacity; `get` reclaims the returned objects.
        let again: Vec<_> = (0..1000).map(|_| pool.get().unwrap()).collect();
        let s = shardio::stats();
        assert_eq!(s.pool_remote_returns, 1000);
        assert_eq!(s.pool_misses, 1000, "only the first round made objects");
        assert_eq!(s.pool_hits, 1000);
        assert_eq!(live.load(Ordering::SeqCst), 1000);
        drop(again);
        drop(pool);
        assert_eq!(live.load(Ordering::SeqCst), 0);
    })
    .unwrap();
}

#[test]
fn handles_outliving_their_pool_and_shard_are_freed() {
    let live = Arc::new(AtomicUsize::new(0));
    let (home, away) = shardio::block_on({
        let live = live.clone();
        async move {
            let pool = util::tracked_pool(&live, 8, Overflow::Fail).build();
            let home = pool.get().unwrap();
            let away = pool.get().unwrap();
            drop(pool);
            (home, away)
        }
    })
    .unwrap();
    assert_eq!(live.load(Ordering::SeqCst), 2);
    drop(home);
    std::thread::spawn(move || drop(away)).join().unwrap();
    assert_eq!(live.load(Ordering::SeqCst), 0, "no object leaked");
}

#[test]
fn concurrent_returns_while_the_home_shard_keeps_taking() {
    shardio::block_on(async {
        let live = Arc::new(AtomicUsize::new(0));
        let pool = util::tracked_pool(&live, 64, Overflow::Fail).build();
        let (tx, rx) = std::sync::mpsc::channel::<Pooled<Tracked>>();
        let dropper = std::thread::spawn(move || {
            let mut n = 0;
            for h in rx {
                drop(h);
                n += 1;
            }
            n
        });
        let mut sent = 0;
        while sent < 20_000 {
            match pool.get() {
                Ok(h) => {
                    tx.send(h).unwrap();
                    sent += 1;
                }
                // All 64 are away: let the other thread catch up.
                Err(_) => shardio::yield_now().await,
            }
        }
        drop(tx);
        assert_eq!(dropper.join().unwrap(), 20_000);
        pool.reclaim();
        assert_eq!(pool.live(), 0);
        assert_eq!(pool.free(), 64);
        assert_eq!(
            live.load(Ordering::SeqCst),
            64,
            "never more than capacity made"
        );
    })
    .unwrap();
}

#[test]
fn buf_pool_classes_and_io() {
    shardio::block_on(async {
        let pool = BufPool::builder().class(64, 4).class(4096, 4).build();
        assert_eq!(pool.class_sizes().collect::<Vec<_>>(), [64, 4096]);
        assert_eq!(pool.get(10).unwrap().capacity(), 64);
        assert_eq!(pool.get(65).unwrap().capacity(), 4096);
        let big = pool.get(1 << 20).unwrap();
        assert!(!Pooled::is_pooled(&big) && big.capacity() >= 1 << 20);

        // Pooled buffers go straight into socket ops.
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let client = TcpStream::connect(addr).await?;
        let (server, _) = listener.accept().await?;
        let mut out = pool.get(64).unwrap();
        out.extend_from_slice(b"pooled bytes");
        let (r, out) = client.write_all(out).await;
        r?;
        drop(out);
        let (n, got) = server.read(pool.get(64).unwrap()).await;
        assert_eq!(&got[..n?], b"pooled bytes");
        drop(got);
        let again = pool.get(64).unwrap();
        assert!(again.is_empty(), "a reused buffer comes back cleared");
        Ok::<_, std::io::Error>(())
    })
    .unwrap()
    .unwrap();
}
