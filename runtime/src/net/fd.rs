//! `SharedFd`: a reference-counted fd that every in-flight op holds a share
//! of, so the fd is closed only after the last op naming it has completed.

use crate::ops;
use std::cell::Cell;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, RawFd};
use std::rc::Rc;
use std::task::{Poll, Waker};

/// A share of an fd, counted: the fd is closed when the last share goes.
/// Every operation naming the fd holds one in its data, so the fd cannot be
/// closed (and its number reused) while the kernel may still act on it.
pub struct SharedFd {
    inner: Rc<Inner>,
}

struct Inner {
    /// INVARIANT: open until `Inner` drops, unless `closed` is set (then an
    /// explicit close owns it).
    fd: RawFd,
    closed: Cell<bool>,
    /// The last receive reported more data already queued on the socket
    /// (`IORING_CQE_F_SOCK_NONEMPTY`): the next one should not wait for poll.
    sock_nonempty: Cell<bool>,
    /// The task in `close()` waiting for the other shares to go.
    close_waiter: Cell<Option<Waker>>,
}

impl SharedFd {
    /// Takes ownership of `fd`.
    pub(crate) fn new(fd: RawFd) -> SharedFd {
        SharedFd {
            inner: Rc::new(Inner {
                fd,
                closed: Cell::new(false),
                sock_nonempty: Cell::new(false),
                close_waiter: Cell::new(None),
            }),
        }
    }

    /// The fd number, valid while this share exists.
    pub fn raw(&self) -> RawFd {
        self.inner.fd
    }

    /// Whether the last receive left data queued on the socket.
    pub(crate) fn sock_nonempty(&self) -> bool {
        self.inner.sock_nonempty.get()
    }

    pub(crate) fn set_sock_nonempty(&self, nonempty: bool) {
        self.inner.sock_nonempty.set(nonempty);
    }

    /// Waits until no op holds a share any more, then closes the fd through
    /// the ring and reports the result.
    pub(crate) async fn close(self) -> io::Result<()> {
        poll_fn(|cx| {
            if Rc::strong_count(&self.inner) == 1 {
                Poll::Ready(())
            } else {
                self.inner.close_waiter.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        })
        .await;
        self.inner.closed.set(true);
        let fd = self.inner.fd;
        drop(self);
        match ops::close(fd) {
            Ok(op) => op.await,
            Err(e) => {
                // Could not reach the ring: close synchronously instead.
                // SAFETY: we own `fd` (closed flag set, last share dropped).
                unsafe { libc::close(fd) };
                Err(e)
            }
        }
    }
}

impl Clone for SharedFd {
    fn clone(&self) -> SharedFd {
        SharedFd {
            inner: self.inner.clone(),
        }
    }
}

impl Drop for SharedFd {
    fn drop(&mut self) {
        // If this was the last share besides the one `close()` holds, let it go on.
        if Rc::strong_count(&self.inner) == 2 {
            if let Some(w) = self.inner.close_waiter.take() {
                w.wake();
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if !self.closed.get() {
            // SAFETY: the last share is gone, so no op names this fd any more.
            unsafe { libc::close(self.fd) };
        }
    }
}

impl AsFd for SharedFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the fd stays open while this share exists (Inner invariant).
        unsafe { BorrowedFd::borrow_raw(self.inner.fd) }
    }
}

impl std::fmt::Debug for SharedFd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SharedFd").field(&self.inner.fd).finish()
    }
}
