//! Graceful shutdown.
//!
//! A [`ShutdownHandle`] (or SIGINT/SIGTERM, when the builder enables signal
//! handling) asks every shard to stop. Each shard then:
//!
//! 1. drops its entry future — the accept loop — so listeners close and no
//!    new connection is taken;
//! 2. wakes every task waiting in [`shutdown_signal`], so connection tasks can
//!    finish their current request and close;
//! 3. keeps running the remaining tasks until they finish or the grace period
//!    ends;
//! 4. drops what is left, cancels every operation still in flight and reaps
//!    until the ring is quiet, so nothing is freed while the kernel may still
//!    write into it.

use crate::executor::Remote;
use crate::shard::Shard;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

#[derive(Debug)]
pub(crate) struct ShutdownState {
    requested: AtomicBool,
    grace: Mutex<Duration>,
    remotes: Mutex<Vec<Arc<Remote>>>,
}

impl ShutdownState {
    pub(crate) fn new(grace: Duration) -> ShutdownState {
        ShutdownState {
            requested: AtomicBool::new(false),
            grace: Mutex::new(grace),
            remotes: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn register(&self, remote: Arc<Remote>) {
        self.remotes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(remote);
        // A request that came before this shard registered is seen by its
        // first loop iteration anyway; ringing keeps the rule simple.
        if self.is_requested() {
            self.ring_all();
        }
    }

    pub(crate) fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    pub(crate) fn grace(&self) -> Duration {
        *self.grace.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn request(&self, grace: Option<Duration>) {
        if let Some(grace) = grace {
            *self.grace.lock().unwrap_or_else(|e| e.into_inner()) = grace;
        }
        self.requested.store(true, Ordering::Release);
        self.ring_all();
    }

    fn ring_all(&self) {
        for remote in self
            .remotes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            remote.ring();
        }
    }
}

/// Asks a running [`Runtime`](crate::Runtime) to shut down gracefully.
/// `Send + Sync + Clone`: usable from any thread, including the shards.
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    pub(crate) state: Arc<ShutdownState>,
}

impl ShutdownHandle {
    /// Stops the accept loops at once and gives running tasks `grace` to
    /// finish before they are cancelled. Calling it again only updates the
    /// grace period of shards that have not started draining.
    pub fn shutdown(&self, grace: Duration) {
        self.state.request(Some(grace));
    }

    /// Shuts down with the grace period set on the builder.
    pub fn shutdown_default(&self) {
        self.state.request(None);
    }

    /// Whether shutdown has been requested.
    pub fn is_requested(&self) -> bool {
        self.state.is_requested()
    }
}

/// Whether the current shard is shutting down (false outside a shard).
pub fn is_shutting_down() -> bool {
    Shard::with_current(|s| s.shutting_down.get()).unwrap_or(false)
}

/// Completes when the current shard starts shutting down. Connection tasks
/// await it (alongside their reads) to close at a request boundary.
///
/// Outside a shard it never completes.
pub fn shutdown_signal() -> ShutdownSignal {
    ShutdownSignal(())
}

/// Future returned by [`shutdown_signal`].
#[derive(Debug)]
pub struct ShutdownSignal(());

impl Future for ShutdownSignal {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let ready = Shard::with_current(|s| {
            if s.shutting_down.get() {
                true
            } else {
                let mut waiters = s.shutdown_waiters.borrow_mut();
                if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
                    waiters.push(cx.waker().clone());
                }
                false
            }
        });
        if ready == Some(true) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}
