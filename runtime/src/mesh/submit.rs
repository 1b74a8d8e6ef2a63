//! `submit_to`: run a closure on another shard and await its result.

use super::lanes::Lanes;
use crate::executor::Remote;
use crate::shard::Shard;
use crate::stats::Counters;
use futures_channel::oneshot;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// A closure on its way to a shard.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// What the shards of one runtime share: the job lanes and how to wake each
/// shard.
pub(crate) struct Cluster {
    pub(crate) jobs: Lanes<Job>,
    remotes: Box<[OnceLock<Arc<Remote>>]>,
    /// Set when a shard has stopped taking jobs.
    stopped: Box<[AtomicBool]>,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("shards", &self.jobs.shards())
            .finish_non_exhaustive()
    }
}

/// How many jobs a shard runs per loop turn before it looks at its tasks
/// and its ring again.
pub(crate) const JOBS_PER_TICK: usize = 256;

impl Cluster {
    pub(crate) fn new(shards: usize, capacity: usize) -> Cluster {
        Cluster {
            jobs: Lanes::new(shards, capacity),
            remotes: (0..shards).map(|_| OnceLock::new()).collect(),
            stopped: (0..shards).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// Records how to wake shard `id` (at its start).
    pub(crate) fn join(&self, id: usize, remote: Arc<Remote>) {
        let _first = self.remotes[id].set(remote);
    }

    /// Shard `id` stops: later jobs fail, queued ones are dropped (their
    /// callers see the shard stopped).
    pub(crate) fn leave(&self, id: usize) {
        self.stopped[id].store(true, Ordering::SeqCst);
        self.jobs.clear_incoming(id);
    }

    /// Runs up to `JOBS_PER_TICK` jobs queued for shard `id`.
    pub(crate) fn run_jobs(&self, id: usize, counters: &Counters) {
        for _ in 0..JOBS_PER_TICK {
            let Some((_, job)) = self.jobs.try_recv(id) else {
                break;
            };
            Counters::incr(&counters.messages_received);
            job();
        }
    }

    fn notify(&self, id: usize) {
        if let Some(remote) = self.remotes[id].get() {
            remote.notify();
        }
    }
}

/// Runs `f` on shard `shard` and returns its result.
///
/// The closure travels through a bounded lock-free lane from this shard to
/// the target (see [`Builder::message_capacity`](crate::Builder::message_capacity));
/// when the lane is full this future waits for room — it never spins. The
/// target runs queued closures between its tasks, and is woken if it sleeps
/// (IORING_OP_MSG_RING from this shard's ring where the kernel has it,
/// otherwise its eventfd). Submitting to the current shard works too.
///
/// Dropping the future does not recall the closure: it may still run, and
/// its result is then dropped.
///
/// # Errors
///
/// Outside a shard; if `shard` is not an index of this runtime's shards; if
/// the target has stopped (or stops before running `f`); if `f` panics (the
/// target shard survives).
///
/// # Examples
///
/// ```
/// let rt = shardio::Runtime::builder().shards(2).pin_to_cores(false).build()?;
/// let stop = rt.shutdown_handle();
/// rt.run(move |shard| {
///     let stop = stop.clone();
///     async move {
///         if shard.id() == 0 {
///             let on = shardio::mesh::submit_to(1, || shardio::current().unwrap().id()).await?;
///             assert_eq!(on, 1);
///             stop.shutdown_default();
///         }
///         // A shard whose entry future returns stops taking closures.
///         shardio::shutdown_signal().await;
///         Ok(())
///     }
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub async fn submit_to<F, R>(shard: usize, f: F) -> io::Result<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let me = Shard::current()?;
    let cluster = me.cluster.clone();
    let shards = cluster.jobs.shards();
    if shard >= shards {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("there is no shard {shard}: this runtime has {shards}"),
        ));
    }
    let stopped = || io::Error::other(format!("shard {shard} has stopped"));
    if cluster.stopped[shard].load(Ordering::SeqCst) {
        return Err(stopped());
    }
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
    });
    let from = me.info.id();
    let mut msg = Some(job);
    poll_fn(|cx| cluster.jobs.poll_send(from, shard, &mut msg, cx)).await;
    Counters::incr(&me.counters.messages_sent);
    cluster.notify(shard);
    if cluster.stopped[shard].load(Ordering::SeqCst) {
        // It stopped while we were queueing; nobody else will drop our job.
        cluster.jobs.clear_incoming(shard);
    }
    match rx.await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(_panic)) => Err(io::Error::other(format!(
            "the closure submitted to shard {shard} panicked"
        ))),
        Err(oneshot::Canceled) => Err(stopped()),
    }
}
