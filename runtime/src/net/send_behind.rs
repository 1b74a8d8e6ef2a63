//! [`SendBehind`]: a send the task does not wait for. The buffer is
//! dropped the moment the kernel has taken every byte, and the task is
//! woken only if it asks for the result before then.

use crate::buf::IoBuf;
use crate::driver::{Completion, Finish};
use crate::net::fd::SharedFd;
use crate::ops::{self, Send};
use crate::shard::Shard;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A send of a whole buffer left to run on its own, from
/// [`TcpStream::send_behind`](super::TcpStream::send_behind).
///
/// The op's completion is handled where the shard reaps it: the buffer is
/// dropped there (a pooled buffer goes back to its pool at once), and no
/// task is woken unless one waits in [`sent`](SendBehind::sent). A server
/// that answers a request and goes back to waiting for the next one thus
/// spends no wakeup on the send.
///
/// Nothing orders a later send after this one: wait for
/// [`sent`](SendBehind::sent) before sending more on the same socket.
///
/// Dropping the handle before the send has finished cancels it (its
/// buffer stays with the shard until the kernel lets go), after which how
/// much of it went out is unknown.
#[must_use = "dropping a SendBehind at once cancels the send"]
pub struct SendBehind<B: IoBuf> {
    inner: Rc<Inner<B>>,
}

struct Inner<B: IoBuf> {
    /// The op's slot in the shard's table while it runs.
    key: usize,
    /// The bytes the send was given.
    len: usize,
    /// The op's data (the buffer and the fd share) until it finishes.
    op: Cell<Option<Send<B>>>,
    /// The send's result, once it has finished.
    result: Cell<Option<i32>>,
    waker: Cell<Option<Waker>>,
}

impl<B: IoBuf> Finish for Inner<B> {
    fn finish(&self, c: Completion) {
        drop(self.op.take());
        self.result.set(Some(c.result()));
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

impl<B: IoBuf> SendBehind<B> {
    pub(crate) fn start(fd: &SharedFd, buf: B) -> Result<SendBehind<B>, (io::Error, B)> {
        let len = buf.bytes_init();
        let op = ops::send_all(fd, buf)?;
        let inner = op.let_run(|op, key| {
            Rc::new(Inner {
                key,
                len,
                op: Cell::new(Some(op)),
                result: Cell::new(None),
                waker: Cell::new(None),
            })
        });
        Ok(SendBehind { inner })
    }

    /// Whether the send has finished, well or not.
    pub fn is_finished(&self) -> bool {
        self.inner.result.get().is_some()
    }

    /// Polls for the send's end: `Ok` once every byte was taken.
    ///
    /// # Errors
    ///
    /// The socket's error (e.g. `BrokenPipe`, `ConnectionReset`), or
    /// `WriteZero` if fewer bytes went out than were given.
    pub fn poll_sent(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.inner.result.get() {
            Some(res) => Poll::Ready(outcome(res, self.inner.len)),
            None => {
                let waker = match self.inner.waker.take() {
                    Some(w) if w.will_wake(cx.waker()) => w,
                    _ => cx.waker().clone(),
                };
                self.inner.waker.set(Some(waker));
                Poll::Pending
            }
        }
    }

    /// The send's result, if it has finished; see
    /// [`poll_sent`](SendBehind::poll_sent).
    pub fn try_sent(&self) -> Option<io::Result<()>> {
        self.inner
            .result
            .get()
            .map(|res| outcome(res, self.inner.len))
    }

    /// Waits for the send's end; see [`poll_sent`](SendBehind::poll_sent).
    /// Dropping this future leaves the send running.
    pub fn sent(&self) -> Sent<'_, B> {
        Sent(self)
    }
}

fn outcome(res: i32, len: usize) -> io::Result<()> {
    if res < 0 {
        Err(io::Error::from_raw_os_error(-res))
    } else if res as usize == len {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "the socket took only part of the send",
        ))
    }
}

impl<B: IoBuf> Drop for SendBehind<B> {
    fn drop(&mut self) {
        if self.is_finished() {
            return;
        }
        // The op's slot still holds the finisher, which keeps the buffer and
        // the fd share until the final CQE; this only asks the kernel to
        // end the send early. Should the driver be busy (a drop during its
        // reap), the send is left to finish, or to the shard's drain.
        let _ = Shard::with_current(|shard| {
            if let Ok(mut driver) = shard.driver.try_borrow_mut() {
                driver.cancel(self.inner.key, &shard.counters);
            }
        });
    }
}

impl<B: IoBuf> fmt::Debug for SendBehind<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendBehind")
            .field("len", &self.inner.len)
            .field("result", &self.inner.result.get())
            .finish()
    }
}

/// The future of [`SendBehind::sent`].
#[must_use = "futures do nothing unless polled"]
pub struct Sent<'a, B: IoBuf>(&'a SendBehind<B>);

impl<B: IoBuf> Future for Sent<'_, B> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_sent(cx)
    }
}

impl<B: IoBuf> fmt::Debug for Sent<'_, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Sent").field(self.0).finish()
    }
}
