//! Per-shard counters.
//!
//! Each shard counts in plain `Cell`s (no atomics on the hot path); a
//! [`ShardStats`] snapshot is read with [`crate::stats()`] from inside the
//! shard, or handed to [`crate::Builder::on_shard_stop`] when a shard ends.

use crate::pool::{self, PoolCounts};
use std::cell::Cell;

/// A snapshot of one shard's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShardStats {
    /// Tasks spawned since the shard started.
    pub tasks_spawned: u64,
    /// Tasks spawned and not yet finished or dropped.
    pub tasks_alive: u64,
    /// Operations pushed to the submission queue.
    pub ops_submitted: u64,
    /// Operations whose final completion was reaped.
    pub ops_completed: u64,
    /// Cancellation requests pushed for operations whose future was dropped.
    pub ops_cancelled: u64,
    /// Operations in the op table: pushed and not yet finally completed,
    /// including orphaned ones waiting for their last completion.
    pub ops_in_flight: u64,
    /// `io_uring_enter` calls.
    pub submit_calls: u64,
    /// Completions the kernel had to hold back because the CQ was full.
    pub cq_overflows: u64,
    /// Connections accepted by listeners on this shard.
    pub connections_accepted: u64,
    /// Accepts that failed on this shard (`EMFILE` and `ENFILE` when out of
    /// descriptors, `ENOBUFS`, `ENOMEM`; a connection reset before its
    /// address was read). The listener stays usable after each.
    pub accept_errors: u64,
    /// TCP streams open on this shard (accepted or connected, not yet closed).
    pub connections_open: u64,
    /// Timers (sleeps, timeouts, intervals) currently registered.
    pub timers_pending: u64,
    /// [`Pool::get`](crate::pool::Pool::get) calls answered from a free list.
    pub pool_hits: u64,
    /// `Pool::get` calls that had to make a fresh object.
    pub pool_misses: u64,
    /// Pooled handles out from this shard's pools.
    pub pool_live: u64,
    /// Pooled objects dropped on other threads and reclaimed by this shard.
    pub pool_remote_returns: u64,
    /// Multishot receives that found their buffer ring empty (`ENOBUFS`) and
    /// waited for a buffer to come back before re-arming.
    pub recv_starved: u64,
    /// Messages and closures this shard sent to shards (itself included).
    pub messages_sent: u64,
    /// Messages and closures this shard received.
    pub messages_received: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) tasks_spawned: Cell<u64>,
    pub(crate) tasks_alive: Cell<u64>,
    pub(crate) ops_submitted: Cell<u64>,
    pub(crate) ops_completed: Cell<u64>,
    pub(crate) ops_cancelled: Cell<u64>,
    pub(crate) submit_calls: Cell<u64>,
    pub(crate) cq_overflows: Cell<u64>,
    pub(crate) connections_accepted: Cell<u64>,
    pub(crate) accept_errors: Cell<u64>,
    pub(crate) connections_open: Cell<u64>,
    pub(crate) recv_starved: Cell<u64>,
    pub(crate) messages_sent: Cell<u64>,
    pub(crate) messages_received: Cell<u64>,
    /// The thread's pool counters when the shard started (pool counters are
    /// kept per thread; a shard reports what happened since it started).
    pub(crate) pool_base: PoolCounts,
}

impl Counters {
    pub(crate) fn new() -> Counters {
        Counters {
            pool_base: pool::counts(),
            ..Counters::default()
        }
    }

    pub(crate) fn incr(cell: &Cell<u64>) {
        cell.set(cell.get() + 1);
    }

    pub(crate) fn decr(cell: &Cell<u64>) {
        cell.set(cell.get().saturating_sub(1));
    }

    pub(crate) fn snapshot(&self, ops_in_flight: usize, timers_pending: usize) -> ShardStats {
        let pools = pool::counts();
        ShardStats {
            tasks_spawned: self.tasks_spawned.get(),
            tasks_alive: self.tasks_alive.get(),
            ops_submitted: self.ops_submitted.get(),
            ops_completed: self.ops_completed.get(),
            ops_cancelled: self.ops_cancelled.get(),
            ops_in_flight: ops_in_flight as u64,
            submit_calls: self.submit_calls.get(),
            cq_overflows: self.cq_overflows.get(),
            connections_accepted: self.connections_accepted.get(),
            accept_errors: self.accept_errors.get(),
            connections_open: self.connections_open.get(),
            timers_pending: timers_pending as u64,
            recv_starved: self.recv_starved.get(),
            messages_sent: self.messages_sent.get(),
            messages_received: self.messages_received.get(),
            pool_hits: pools.hits - self.pool_base.hits,
            pool_misses: pools.misses - self.pool_base.misses,
            pool_live: pools.live,
            pool_remote_returns: pools.remote_returns - self.pool_base.remote_returns,
        }
    }
}
