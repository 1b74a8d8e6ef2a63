//! A server's drain signal: whether a graceful shutdown has begun, and the
//! tasks waiting to hear it ([`Draining`]).

use crate::server::Shared;
use slab::Slab;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

/// Set once, when the server starts draining; wakes its waiters then.
#[derive(Default)]
pub(crate) struct Drain {
    started: Cell<bool>,
    /// One entry per [`Draining`] that has been polled and is still alive.
    waiters: RefCell<Slab<Waker>>,
}

impl Drain {
    pub(crate) fn is_started(&self) -> bool {
        self.started.get()
    }

    /// Starts the drain and wakes every waiter. `false`: it had started.
    pub(crate) fn start(&self) -> bool {
        if self.started.replace(true) {
            return false;
        }
        // Taken out first: a woken task may drop its `Draining` at once.
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for (_, waker) in waiters {
            waker.wake();
        }
        true
    }

    /// Ready once started; until then keeps `cx`'s waker in the entry at
    /// `key`, made on the first wait.
    fn poll_wait(&self, key: &mut Option<usize>, cx: &mut Context<'_>) -> Poll<()> {
        if self.is_started() {
            // `start` took the entries out, this one's with them.
            *key = None;
            return Poll::Ready(());
        }
        let mut waiters = self.waiters.borrow_mut();
        match *key {
            Some(at) => {
                let waker = &mut waiters[at];
                if !waker.will_wake(cx.waker()) {
                    waker.clone_from(cx.waker());
                }
            }
            None => *key = Some(waiters.insert(cx.waker().clone())),
        }
        Poll::Pending
    }

    /// Removes the entry at `key` of a waiter that goes away.
    fn forget(&self, key: Option<usize>) {
        // Once started, the entries are gone.
        if let (Some(at), false) = (key, self.is_started()) {
            self.waiters.borrow_mut().remove(at);
        }
    }
}

impl fmt::Debug for Drain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Drain")
            .field("started", &self.started.get())
            .field("waiters", &self.waiters.borrow().len())
            .finish()
    }
}

/// Completes once the server begins a graceful shutdown, at once if it has
/// already: from [`Request::draining`](crate::Request::draining) or
/// [`Upgraded::draining`](crate::Upgraded::draining).
///
/// It borrows nothing, so it can be raced against a read of the same
/// connection (`select!`), polled again after each one, or end a streamed
/// response.
#[must_use = "futures do nothing unless polled"]
pub struct Draining {
    of: Of,
    /// Where this future's waker is kept, once it has waited.
    key: Option<usize>,
}

/// Whose drain a [`Draining`] waits for.
enum Of {
    Server(Rc<Shared>),
    /// The server has ended: its drain is over.
    Gone,
    /// Not a server's request ([`Request::parse`](crate::Request::parse)):
    /// nothing will drain.
    Nowhere,
}

impl Draining {
    /// Waits for `server`'s drain.
    pub(crate) fn of(server: Rc<Shared>) -> Draining {
        Draining::with(Of::Server(server))
    }

    /// For a request of `server`, or of no server (`None`).
    pub(crate) fn of_request(server: Option<&Weak<Shared>>) -> Draining {
        Draining::with(match server {
            Some(server) => server.upgrade().map_or(Of::Gone, Of::Server),
            None => Of::Nowhere,
        })
    }

    fn with(of: Of) -> Draining {
        Draining { of, key: None }
    }
}

impl Future for Draining {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        match &this.of {
            Of::Server(shared) => shared.drain.poll_wait(&mut this.key, cx),
            Of::Gone => Poll::Ready(()),
            Of::Nowhere => Poll::Pending,
        }
    }
}

impl Drop for Draining {
    fn drop(&mut self) {
        if let Of::Server(shared) = &self.of {
            shared.drain.forget(self.key);
        }
    }
}

impl fmt::Debug for Draining {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let started = match &self.of {
            Of::Server(shared) => Some(shared.drain.is_started()),
            Of::Gone => Some(true),
            Of::Nowhere => None,
        };
        f.debug_struct("Draining")
            .field("started", &started)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn waiters_are_woken_once_and_a_waiter_that_goes_away_leaves_nothing() {
        let drain = Drain::default();
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let (mut a, mut b) = (None, None);
        assert!(drain.poll_wait(&mut a, &mut cx).is_pending());
        // Polled again, a waiter keeps its one entry.
        assert!(drain.poll_wait(&mut a, &mut cx).is_pending());
        assert!(drain.poll_wait(&mut b, &mut cx).is_pending());
        assert_eq!(drain.waiters.borrow().len(), 2);
        drain.forget(b);
        assert_eq!(drain.waiters.borrow().len(), 1);

        assert!(drain.start());
        assert!(!drain.start(), "started once");
        assert_eq!(count.0.load(Ordering::Relaxed), 1, "only `a` waited");
        assert!(drain.poll_wait(&mut a, &mut cx).is_ready());
        assert_eq!(a, None);
        // A waiter first polled after the start is ready at once.
        let mut late = None;
        assert!(drain.poll_wait(&mut late, &mut cx).is_ready());
        drain.forget(Some(0));
        assert_eq!(drain.waiters.borrow().len(), 0);
    }

    #[test]
    fn a_request_whose_server_has_ended_is_drained_and_one_of_no_server_never() {
        let mut cx = Context::from_waker(Waker::noop());
        let ended: Weak<Shared> = Weak::new();
        let mut gone = std::pin::pin!(Draining::of_request(Some(&ended)));
        assert!(gone.as_mut().poll(&mut cx).is_ready());
        let mut nowhere = std::pin::pin!(Draining::of_request(None));
        assert!(nowhere.as_mut().poll(&mut cx).is_pending());
    }
}
