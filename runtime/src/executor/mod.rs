//! The shard-local executor.
//!
//! # Invariants
//!
//! * Tasks live in a slab owned by one shard and are only polled, and only
//!   dropped, on that shard's thread. Their futures need not be `Send`.
//! * A task is named by a [`TaskRef`] (slab key + generation). A stale
//!   reference (the task finished and its key was reused) is recognised by the
//!   generation and ignored, so a late wake never polls the wrong task.
//! * A task is in the run queue at most once: its waker's `queued` flag is set
//!   by the wake that enqueues it and cleared just before it is polled, so a
//!   wake during the poll enqueues it again.
//! * Wakers are `Send + Sync`. A wake on the home shard's thread pushes to the
//!   local run queue; a wake from any other thread pushes to the shard's
//!   [`Remote`] queue and rings its doorbell if the shard is asleep.
//! * A task is one allocation (`TaskCell`: waker state and future). While it
//!   is polled the slab is not borrowed (the poll goes through a clone of
//!   the task's `Arc`), so the task may spawn, abort or wake others (even
//!   itself) freely. An abort seen after the poll drops the future at once.
//! * The future is dropped in place on the home shard, always before the
//!   slab lets go of the task: a waker elsewhere that holds the last
//!   reference frees memory only.
//! * On teardown every task is dropped on the shard before the ring drains, so
//!   their operations are orphaned into the op table and cancelled there.

pub(crate) mod coop;
mod join;
mod remote;
mod task;

pub use join::{JoinError, JoinHandle};
pub(crate) use remote::Remote;
pub(crate) use task::{Executor, TaskRef};

use crate::shard::Shard;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Spawns a task on the current shard.
///
/// The future need not be `Send`: it runs only on this shard. The returned
/// [`JoinHandle`] resolves to its output, or to a [`JoinError`] if it panicked
/// or was aborted. Dropping the handle detaches the task.
///
/// # Panics
///
/// Panics if called outside a shard (outside [`crate::block_on`] or
/// [`crate::Runtime::run`]).
///
/// # Examples
///
/// ```
/// shardio::block_on(async {
///     let task = shardio::spawn(async { 40 + 2 });
///     assert_eq!(task.await.unwrap(), 42);
/// })
/// .unwrap();
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let shard = Shard::current().expect("shardio::spawn called outside a shard");
    shard.executor.spawn(&shard, future)
}

/// Spawns a task on the current shard that nobody will await.
///
/// Like [`spawn`] with the handle dropped, minus the handle's shared state:
/// a server that runs a task per connection saves that allocation on each.
/// A panic ends the task, after the panic hook has reported it.
///
/// # Panics
///
/// Panics if called outside a shard.
///
/// # Examples
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// shardio::block_on(async {
///     let done = Rc::new(Cell::new(false));
///     let flag = done.clone();
///     shardio::spawn_detached(async move { flag.set(true) });
///     shardio::yield_now().await;
///     assert!(done.get());
/// })
/// .unwrap();
/// ```
pub fn spawn_detached<F>(future: F)
where
    F: Future<Output = ()> + 'static,
{
    let shard = Shard::current().expect("shardio::spawn_detached called outside a shard");
    shard.executor.spawn_detached(&shard, future);
}

/// Wakes the task of `cx` after the shard's next visit to the ring (at
/// once outside a shard): how a task steps aside, yielding or out of
/// budget, without being polled again before the ring is.
pub(crate) fn wake_after_ring(cx: &Context<'_>) {
    if Shard::with_current(|shard| shard.executor.defer(cx.waker())).is_none() {
        cx.waker().wake_by_ref();
    }
}

/// Yields to the other tasks of the shard once.
///
/// The task is woken after the shard's next visit to the ring: every task
/// already ready runs first, then the shard submits what they queued and
/// reaps the completions that arrived (waking the tasks waiting on them),
/// and the yielding task runs behind those. A long computation that yields
/// between its slices so lets the shard's I/O through between each two,
/// however few other tasks are ready. Outside a shard it is woken at once.
pub async fn yield_now() {
    struct YieldNow(bool);
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            wake_after_ring(cx);
            Poll::Pending
        }
    }
    YieldNow(false).await
}
