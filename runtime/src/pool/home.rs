//! Which thread a pool belongs to, and that thread's pool counters.
//!
//! Every thread that creates a pool gets a token, unique for the life of the
//! process, and a set of counters. A pooled handle compares the token of the
//! thread it is dropped on with its pool's: equal means "home", where the
//! pool's free list may be touched; anything else sends the object home
//! through the pool's queue.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// The pool counters of one thread (one shard), in plain cells: only the
/// home thread ever writes them.
#[derive(Debug)]
pub(crate) struct Home {
    /// 0 until [`token`] first asks for it (no pool has token 0, so a
    /// thread that never asked is home to none).
    pub(crate) token: Cell<u64>,
    pub(crate) hits: Cell<u64>,
    pub(crate) misses: Cell<u64>,
    pub(crate) live: Cell<u64>,
    pub(crate) remote_returns: Cell<u64>,
}

thread_local! {
    // Built by a constant, and with nothing to drop: reaching it is one
    // address computation, with no first-use check on every loan.
    static HOME: Home = const {
        Home {
            token: Cell::new(0),
            hits: Cell::new(0),
            misses: Cell::new(0),
            live: Cell::new(0),
            remote_returns: Cell::new(0),
        }
    };
}

/// Runs `f` with this thread's pool home. The home needs no destructor,
/// so it is there even while the thread's other thread-locals are torn
/// down.
pub(crate) fn with<R>(f: impl FnOnce(&Home) -> R) -> R {
    HOME.with(f)
}

/// This thread's token, drawn on first use.
pub(crate) fn token() -> u64 {
    with(|h| {
        if h.token.get() == 0 {
            h.token.set(NEXT_TOKEN.fetch_add(1, Ordering::Relaxed));
        }
        h.token.get()
    })
}

/// A snapshot of this thread's pool counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PoolCounts {
    pub(crate) hits: u64,
    pub(crate) misses: u64,
    pub(crate) live: u64,
    pub(crate) remote_returns: u64,
}

pub(crate) fn counts() -> PoolCounts {
    with(|h| PoolCounts {
        hits: h.hits.get(),
        misses: h.misses.get(),
        live: h.live.get(),
        remote_returns: h.remote_returns.get(),
    })
}

pub(crate) fn bump(cell: &Cell<u64>, by: u64) {
    cell.set(cell.get() + by);
}

pub(crate) fn drop_one(cell: &Cell<u64>, by: u64) {
    cell.set(cell.get().saturating_sub(by));
}
