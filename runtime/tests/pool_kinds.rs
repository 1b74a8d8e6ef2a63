//! What `Pool<T>` and `LocalPool<T>` promise alike, checked on both:
//! reuse and reset, the shard's counters, the two overflow policies and
//! prefill. What only one of them does (handles going home from other
//! threads; re-entrant drops of a local handle) is in `pools.rs` and
//! `local_pool.rs`.

mod util;

use shardio::pool::{LocalPool, LocalPooled, Overflow, Pool, Pooled};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use util::Tracked;

fn alive(live: &AtomicUsize) -> usize {
    live.load(Ordering::SeqCst)
}

/// The cases for one kind of pool: `$pool` made by the builder's
/// `$build`, lending `$handle`s.
macro_rules! cases {
    ($kind:ident: $pool:ident, $handle:ident, $build:ident) => {
        mod $kind {
            use super::*;

            #[test]
            fn objects_are_reused_reset_and_counted() {
                shardio::block_on(async {
                    let live = Arc::new(AtomicUsize::new(0));
                    let pool: $pool<Tracked> =
                        util::tracked_pool(&live, 4, Overflow::Fail).$build();
                    let mut a = pool.get().unwrap();
                    a.value = 42;
                    let addr = &*a as *const Tracked;
                    drop(a);
                    let b = pool.get().unwrap();
                    assert_eq!(&*b as *const Tracked, addr, "the free object is reused");
                    assert_eq!(b.value, 0, "the reset hook ran");
                    let s = shardio::stats();
                    assert_eq!((s.pool_hits, s.pool_misses, s.pool_live), (1, 1, 1));
                    assert_eq!((pool.live(), pool.free()), (1, 0));
                    drop(b);
                    assert_eq!(shardio::stats().pool_live, 0);
                    assert_eq!((pool.live(), pool.free()), (0, 1));
                    assert_eq!(alive(&live), 1, "one object, kept by the pool");
                    drop(pool);
                    assert_eq!(alive(&live), 0, "the pool frees its objects");
                })
                .unwrap();
            }

            #[test]
            fn capacity_fail_errors_and_recovers() {
                shardio::block_on(async {
                    let live = Arc::new(AtomicUsize::new(0));
                    let pool: $pool<Tracked> =
                        util::tracked_pool(&live, 3, Overflow::Fail).$build();
                    let held: Vec<_> = (0..3).map(|_| pool.get().unwrap()).collect();
                    let err = pool.get().unwrap_err();
                    assert_eq!(err.capacity(), 3);
                    assert!(err.to_string().contains("all 3 objects are in use"));
                    let io: std::io::Error = err.into();
                    assert_eq!(io.kind(), std::io::ErrorKind::OutOfMemory);
                    drop(held);
                    assert_eq!(pool.free(), 3);
                    assert!(pool.get().is_ok(), "usable again once objects return");
                })
                .unwrap();
            }

            #[test]
            fn capacity_allocate_hands_out_unpooled_objects() {
                shardio::block_on(async {
                    let live = Arc::new(AtomicUsize::new(0));
                    let pool: $pool<Tracked> =
                        util::tracked_pool(&live, 2, Overflow::Allocate).$build();
                    let held: Vec<_> = (0..5).map(|_| pool.get().unwrap()).collect();
                    assert_eq!(held.iter().filter(|h| $handle::is_pooled(h)).count(), 2);
                    assert_eq!(alive(&live), 5);
                    assert_eq!(shardio::stats().pool_live, 2);
                    drop(held);
                    assert_eq!(alive(&live), 2, "extra objects are dropped");
                    assert_eq!((pool.free(), pool.live()), (2, 0));
                    assert!(!$handle::is_pooled(&$handle::unpooled(7)));
                })
                .unwrap();
            }

            #[test]
            fn prefill_makes_objects_up_front() {
                shardio::block_on(async {
                    let live = Arc::new(AtomicUsize::new(0));
                    let pool: $pool<Tracked> = util::tracked_pool(&live, 8, Overflow::Fail)
                        .prefill(100)
                        .$build();
                    assert_eq!(pool.free(), 8, "prefill is capped at the capacity");
                    assert_eq!(alive(&live), 8);
                    let _a = pool.get().unwrap();
                    assert_eq!(shardio::stats().pool_hits, 1);
                    assert_eq!(shardio::stats().pool_misses, 0);
                })
                .unwrap();
            }
        }
    };
}

cases!(shared: Pool, Pooled, build);
cases!(local: LocalPool, LocalPooled, build_local);
