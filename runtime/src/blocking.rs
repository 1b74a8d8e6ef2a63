//! Work that would block a shard, run on a pool of threads beside the
//! shards.
//!
//! A shard is one thread: a system call that waits (reading a directory
//! from a cold disk, `getaddrinfo`, a C library with no async API) stops
//! every task on it. The ring covers what it can (reads, opens, `statx`);
//! [`spawn_blocking`] is for the rest.
//!
//! The pool is the `blocking` crate's: threads are started on demand, up
//! to 500 (`BLOCKING_MAX_THREADS` lowers that), not pinned to any core,
//! and one that has been idle for half a second exits. The closure's result
//! comes back through the waiting task's waker, which from another thread
//! reaches the home shard through its remote queue.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs `f` on the blocking pool; the returned future resolves to its
/// result.
///
/// Dropping the future before the pool starts `f` means `f` never runs.
/// Once it runs it cannot be stopped: it runs to the end on its thread,
/// and its result is dropped there. If `f` panics, awaiting the future
/// panics with the same payload.
///
/// The future is `Send`, and may be awaited on any shard, or outside one.
///
/// # Examples
///
/// ```
/// shardio::block_on(async {
///     let names = shardio::spawn_blocking(|| {
///         std::fs::read_dir(".").map(|dir| dir.count())
///     })
///     .await;
///     assert!(names? > 0);
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub fn spawn_blocking<F, T>(f: F) -> Blocking<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Blocking(::blocking::unblock(f))
}

/// The result of a [`spawn_blocking`] closure, to await.
#[must_use = "dropping it before the pool starts the closure cancels the closure"]
#[derive(Debug)]
pub struct Blocking<T>(::blocking::Task<T>);

impl<T> Blocking<T> {
    /// Lets the closure run to its end without anyone awaiting it; its
    /// result is dropped on the pool's thread.
    pub fn detach(self) {
        self.0.detach();
    }
}

impl<T> Future for Blocking<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0).poll(cx)
    }
}
