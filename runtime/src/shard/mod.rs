//! The shard: one thread's ring, executor, timers and counters.
//!
//! A shard is created on the thread it will run on and never leaves it; the
//! thread-local `CURRENT` names it while it runs. Everything in it is `!Send`
//! (plain `Rc` and `RefCell`); the only parts other threads touch are the
//! `Remote` queue and doorbell, and the shutdown flag.

pub(crate) mod run;

pub(crate) use run::{run_shard, ShardConfig};

use crate::buf::ring::BufRings;
use crate::driver::{Driver, RingMode};
use crate::executor::{Executor, Remote};
use crate::mesh::Cluster;
use crate::shutdown::ShutdownState;
use crate::stats::{Counters, ShardStats};
use crate::time::wheel::Wheel;
use crate::time::Clock;
use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Waker;

/// Which shard this is, as seen by the code running on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardInfo {
    id: usize,
    count: usize,
    core: Option<usize>,
    ring_mode: RingMode,
}

impl ShardInfo {
    /// The shard's index, `0..count`.
    pub fn id(&self) -> usize {
        self.id
    }

    /// How many shards the runtime started.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The CPU core the shard's thread is pinned to, if pinning is on.
    pub fn core(&self) -> Option<usize> {
        self.core
    }

    /// How the kernel accepted the shard's ring.
    pub fn ring_mode(&self) -> RingMode {
        self.ring_mode
    }
}

pub(crate) struct Shard {
    pub(crate) info: ShardInfo,
    pub(crate) driver: RefCell<Driver>,
    pub(crate) executor: Executor,
    pub(crate) timers: RefCell<Wheel>,
    pub(crate) clock: Clock,
    pub(crate) counters: Counters,
    pub(crate) remote: Arc<Remote>,
    pub(crate) shutdown: Option<Arc<ShutdownState>>,
    /// Set once this shard has seen the shutdown request.
    pub(crate) shutting_down: Cell<bool>,
    pub(crate) shutdown_waiters: RefCell<Vec<Waker>>,
    /// Provided buffer rings: group ids, the default ring, retired rings.
    pub(crate) buf_rings: RefCell<BufRings>,
    /// The runtime's shards, for messages between them.
    pub(crate) cluster: Arc<Cluster>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Shard>>> = const { RefCell::new(None) };
}

impl Shard {
    /// The shard running on this thread.
    pub(crate) fn current() -> io::Result<Rc<Shard>> {
        Shard::with_current(Rc::clone).ok_or_else(|| {
            io::Error::other(
                "not on a shardio shard: run this inside shardio::block_on or Runtime::run",
            )
        })
    }

    /// Runs `f` with the shard running on this thread, if any.
    pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<Shard>) -> R) -> Option<R> {
        CURRENT
            .try_with(|c| c.try_borrow().ok().and_then(|c| c.as_ref().map(f)))
            .ok()
            .flatten()
    }

    pub(crate) fn stats(&self) -> ShardStats {
        let in_flight = self.driver.borrow().in_flight();
        self.counters
            .snapshot(in_flight, self.timers.borrow().len())
    }

    /// Unregisters buffer rings whose last user is gone, then frees them.
    pub(crate) fn retire_buf_rings(&self) {
        if !self.buf_rings.borrow().has_retired() {
            return;
        }
        let retired = self.buf_rings.borrow_mut().take_retired();
        let driver = self.driver.borrow();
        for (bgid, memory) in retired {
            match driver.unregister_buf_ring(bgid) {
                Ok(()) => {
                    drop(memory);
                    self.buf_rings.borrow_mut().free_id(bgid);
                }
                // Still registered: the kernel could use it, so it is never
                // freed (nor its group id reused).
                Err(_) => std::mem::forget(memory),
            }
        }
    }

    /// Marks the shard as shutting down and wakes whoever waits for that.
    pub(crate) fn begin_shutdown(&self) {
        if !self.shutting_down.replace(true) {
            for waker in self.shutdown_waiters.borrow_mut().drain(..) {
                waker.wake();
            }
        }
    }
}

/// The info of the shard running on this thread, if any.
pub fn current() -> Option<ShardInfo> {
    Shard::with_current(|s| s.info)
}

/// A snapshot of the current shard's counters.
///
/// # Panics
///
/// Panics if called outside a shard.
pub fn stats() -> ShardStats {
    Shard::with_current(|s| s.stats()).expect("shardio::stats called outside a shard")
}
