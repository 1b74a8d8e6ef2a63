//! Per-shard counters of the zero-copy paths.

use std::cell::Cell;

/// A snapshot of this shard's zero-copy counters (see [`stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ZeroCopyStats {
    /// Bytes moved from files into sockets by splice through the ring.
    pub spliced_bytes: u64,
    /// Bytes moved from files into sockets by `sendfile(2)`.
    pub sendfile_bytes: u64,
    /// Bytes of file bodies copied through a user buffer (the read-and-write
    /// strategy).
    pub copied_bytes: u64,
    /// Reads that the page cache could not serve at once, done through
    /// the ring so the shard did not wait: the read-and-write strategy's
    /// and [`read_exact_at`](crate::read_exact_at)'s.
    pub ring_reads: u64,
    /// `IORING_OP_SEND_ZC` sends completed (each with its notification).
    pub zc_sends: u64,
    /// Bytes sent by `IORING_OP_SEND_ZC`.
    pub zc_bytes: u64,
    /// [`send_zc`](crate::send_zc) calls served by a plain send instead
    /// (below the threshold, or the kernel lacks `SEND_ZC`).
    pub zc_fallbacks: u64,
    /// Idle pipes in this shard's pipe pool.
    pub pipes_idle: u64,
    /// Pipes created, over the shard's life.
    pub pipes_created: u64,
    /// Pipe leases the pool could not serve from an idle pipe.
    pub pipe_misses: u64,
    /// Pipes closed instead of reused: a transfer failed with bytes still
    /// in the pipe, or a cancelled splice might still touch it.
    pub pipes_discarded: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) spliced_bytes: Cell<u64>,
    pub(crate) sendfile_bytes: Cell<u64>,
    pub(crate) copied_bytes: Cell<u64>,
    pub(crate) ring_reads: Cell<u64>,
    pub(crate) zc_sends: Cell<u64>,
    pub(crate) zc_bytes: Cell<u64>,
    pub(crate) zc_fallbacks: Cell<u64>,
    pub(crate) pipes_created: Cell<u64>,
    pub(crate) pipe_misses: Cell<u64>,
    pub(crate) pipes_discarded: Cell<u64>,
}

thread_local! {
    static COUNTERS: Counters = Counters::default();
}

/// Adds `n` to one counter of the current thread.
pub(crate) fn add(field: fn(&Counters) -> &Cell<u64>, n: u64) {
    COUNTERS.with(|c| {
        let cell = field(c);
        cell.set(cell.get() + n);
    });
}

/// This shard's counters (each thread counts its own transfers).
pub fn stats() -> ZeroCopyStats {
    let pipes_idle = crate::pipe::idle() as u64;
    COUNTERS.with(|c| ZeroCopyStats {
        spliced_bytes: c.spliced_bytes.get(),
        sendfile_bytes: c.sendfile_bytes.get(),
        copied_bytes: c.copied_bytes.get(),
        ring_reads: c.ring_reads.get(),
        zc_sends: c.zc_sends.get(),
        zc_bytes: c.zc_bytes.get(),
        zc_fallbacks: c.zc_fallbacks.get(),
        pipes_idle,
        pipes_created: c.pipes_created.get(),
        pipe_misses: c.pipe_misses.get(),
        pipes_discarded: c.pipes_discarded.get(),
    })
}
