//! `LocalPool<T>`, for handles that stay on their shard: nothing leaked
//! or dropped twice when handles outlive the pool or an object holds a
//! handle of its own pool. What it shares with `Pool<T>` (reuse, reset,
//! capacity, counters) is in `pool_kinds.rs`.

use shardio::pool::{LocalPool, LocalPooled, Overflow, Pool};
use std::cell::Cell;
use std::rc::Rc;

/// Counts how many are alive; not `Send`, like the state local pools hold.
#[derive(Debug)]
struct Tracked {
    live: Rc<Cell<usize>>,
    value: u64,
    /// A handle this object keeps, for the re-entrant drop test.
    inner: Option<LocalPooled<Tracked>>,
}

impl Tracked {
    fn new(live: &Rc<Cell<usize>>) -> Tracked {
        live.set(live.get() + 1);
        Tracked {
            live: live.clone(),
            value: 0,
            inner: None,
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.set(self.live.get() - 1);
    }
}

fn tracked_pool(live: &Rc<Cell<usize>>, capacity: usize, overflow: Overflow) -> LocalPool<Tracked> {
    let l = live.clone();
    Pool::builder(move || Tracked::new(&l))
        .capacity(capacity)
        .overflow(overflow)
        .reset(|t| t.value = 0)
        .build_local()
}

#[test]
fn handles_outliving_their_pool_are_freed() {
    let live = Rc::new(Cell::new(0));
    let pool = tracked_pool(&live, 8, Overflow::Fail);
    let a = pool.get().unwrap();
    let b = pool.get().unwrap();
    drop(pool);
    assert_eq!(live.get(), 2);
    drop(a);
    assert_eq!(live.get(), 1, "returned after the pool went: dropped");
    drop(b);
    assert_eq!(live.get(), 0, "no object leaked");
}

#[test]
fn an_object_holding_a_handle_of_its_own_pool_drops_cleanly() {
    let live = Rc::new(Cell::new(0));
    let l = live.clone();
    let pool = Pool::builder(move || Tracked::new(&l))
        .reset(|t: &mut Tracked| t.inner = None)
        .build_local();
    let mut outer = pool.get().unwrap();
    outer.inner = Some(pool.get().unwrap());
    drop(outer);
    // A returned object keeps what it holds until it is reset.
    assert_eq!((pool.free(), pool.live(), live.get()), (1, 1, 2));
    // The reset hook drops the inner handle while `get` runs: it returns.
    let again = pool.get().unwrap();
    assert!(again.inner.is_none());
    assert_eq!((pool.free(), pool.live(), live.get()), (1, 1, 2));

    // Freed with the pool, an object drops the handle it holds, which
    // returns to a pool that is closing.
    let mut outer = again;
    outer.inner = Some(pool.get().unwrap());
    drop(outer);
    assert_eq!((pool.free(), pool.live()), (1, 1));
    drop(pool);
    assert_eq!(live.get(), 0, "nothing leaked, nothing dropped twice");
}

#[test]
fn a_pooled_buffer_is_an_io_buffer() {
    fn assert_io_buf<B: shardio::IoBufMut>(_: &B) {}
    let pool = Pool::builder(|| Vec::<u8>::with_capacity(64)).build_local();
    let buf = pool.get().unwrap();
    assert_io_buf(&buf);
    assert_eq!(shardio::IoBuf::bytes_total(&buf), 64);
}

#[test]
fn a_dropped_pool_frees_what_waits_in_its_free_list() {
    // Each waiting object is kept with its pool's `Rc`: dropping the
    // last `LocalPool` must still free them, and the pool with them.
    let live = Rc::new(Cell::new(0));
    let l = live.clone();
    let pool = Pool::builder(move || Tracked::new(&l))
        .capacity(4)
        .prefill(2)
        .build_local();
    let clone = pool.clone();
    drop(pool.get().unwrap());
    let out = clone.get().unwrap();
    assert_eq!((pool.free(), live.get()), (1, 2));
    drop(pool);
    assert_eq!(live.get(), 2, "a clone still holds the pool open");
    drop(clone);
    assert_eq!(live.get(), 1, "the waiting object went with the pool");
    drop(out);
    assert_eq!(live.get(), 0);
}

#[test]
fn a_handle_is_one_pointer_wide() {
    // A request, say, is a handle: it moves down a middleware chain as
    // one word.
    assert_eq!(
        std::mem::size_of::<shardio::pool::LocalPooled<[u8; 100]>>(),
        std::mem::size_of::<usize>()
    );
    assert_eq!(
        std::mem::size_of::<Option<shardio::pool::LocalPooled<u64>>>(),
        std::mem::size_of::<usize>()
    );
}
