//! [`SendBehind`]: a send the task does not wait for. The buffer is
//! dropped the moment the kernel has taken every byte, and a task is woken
//! only if it waits for the send.

use crate::buf::IoBuf;
use crate::driver::{Completion, Finish};
use crate::net::fd::SharedFd;
use crate::ops::{self, Send};
use crate::shard::Shard;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::io;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A send of a whole buffer left to run on its own, from
/// [`TcpStream::send_behind`](super::TcpStream::send_behind).
///
/// The send's end is handled where the shard reaps it: its buffer is
/// dropped there (a pooled buffer goes back to its pool at once), and no
/// task is woken unless one waits in [`finished`](SendBehind::finished).
/// A server that answers a request and goes back to waiting for the next
/// one thus spends no wakeup on the send, and holds nothing for it once
/// it is done: the handle is two numbers naming the send in the shard's
/// op table.
///
/// Nothing orders a later write after this send: wait for
/// [`finished`](SendBehind::finished) first. If the send fails or the
/// socket takes only part of it, the socket's sending side is shut down,
/// so that the next write fails rather than follow bytes that never went
/// out.
///
/// Dropping the handle before the send has finished cancels it (its
/// buffer stays with the shard until the kernel lets go), which counts as
/// a failure.
#[must_use = "dropping a SendBehind before the send finishes cancels it"]
pub struct SendBehind {
    key: u32,
    tag: NonZeroU32,
}

/// What the op table keeps for a send let run: its data, and the task
/// waiting for it, if any. Emptied when the send finishes (the driver
/// then keeps the box for the next send).
struct Running<B> {
    /// `None` once finished.
    op: Option<Send<B>>,
    len: usize,
    tag: NonZeroU32,
    waiter: Option<Waker>,
}

impl<B: IoBuf> Finish for Running<B> {
    fn finish(&mut self, c: Completion) {
        let Some(op) = self.op.take() else {
            debug_assert!(false, "a send finished twice");
            return;
        };
        if usize::try_from(c.result()).ok() != Some(self.len) {
            // Nothing may follow a send that did not all go out.
            let _ = socket2::SockRef::from(op.fd()).shutdown(std::net::Shutdown::Write);
        }
        drop(op);
        if let Some(w) = self.waiter.take() {
            w.wake();
        }
    }

    fn tag(&self) -> u32 {
        self.tag.get()
    }

    fn wake_when_finished(&mut self, waker: &Waker) {
        match &mut self.waiter {
            Some(w) if w.will_wake(waker) => {}
            w => *w = Some(waker.clone()),
        }
    }
}

thread_local! {
    /// The tag the next send let run on this thread gets.
    static NEXT_TAG: Cell<u32> = const { Cell::new(1) };
}

fn next_tag() -> NonZeroU32 {
    NEXT_TAG.with(|next| {
        let tag = next.get();
        next.set(tag.checked_add(1).unwrap_or(1));
        NonZeroU32::new(tag).expect("tags skip zero")
    })
}

impl SendBehind {
    pub(crate) fn start<B: IoBuf>(fd: &SharedFd, buf: B) -> Result<SendBehind, (io::Error, B)> {
        let len = buf.bytes_init();
        let op = ops::send_all(fd, buf)?;
        let tag = next_tag();
        let key = op.let_run(|op| Running {
            op: Some(op),
            len,
            tag,
            waiter: None,
        });
        let key = u32::try_from(key).expect("under 2^32 ops in flight");
        Ok(SendBehind { key, tag })
    }

    /// Runs `f` with the send's entry in the op table, if it is still
    /// running.
    fn with_running<R>(&self, f: impl FnOnce(&mut dyn Finish) -> R) -> Option<R> {
        Shard::with_current(|shard| {
            let mut driver = shard.driver.try_borrow_mut().ok()?;
            driver.behind(self.key as usize, self.tag.get()).map(f)
        })
        .flatten()
    }

    /// Whether the send has finished, well or not.
    pub fn is_finished(&self) -> bool {
        self.with_running(|_| ()).is_none()
    }

    /// `None` if the send has finished (the handle is used up), else the
    /// handle back.
    pub fn into_running(self) -> Option<SendBehind> {
        if self.is_finished() {
            std::mem::forget(self);
            None
        } else {
            Some(self)
        }
    }

    /// Polls for the send's end, registering the task to be woken then.
    pub fn poll_finished(&self, cx: &mut Context<'_>) -> Poll<()> {
        match self.with_running(|running| running.wake_when_finished(cx.waker())) {
            Some(()) => Poll::Pending,
            None => Poll::Ready(()),
        }
    }

    /// Waits for the send's end. Dropping this future leaves the send
    /// running.
    pub fn finished(&self) -> Finished<'_> {
        Finished(self)
    }
}

impl Drop for SendBehind {
    fn drop(&mut self) {
        // The op's slot keeps the data, and the fd share in it, until the
        // final CQE; this only asks the kernel to end the send early.
        // Should the driver be busy (a drop during its reap), the send is
        // left to finish, or to the shard's drain.
        let (key, tag) = (self.key as usize, self.tag.get());
        let _ = Shard::with_current(|shard| {
            if let Ok(mut driver) = shard.driver.try_borrow_mut() {
                if driver.behind(key, tag).is_some() {
                    driver.cancel(key, &shard.counters);
                }
            }
        });
    }
}

impl fmt::Debug for SendBehind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendBehind")
            .field("key", &self.key)
            .field("tag", &self.tag)
            .finish()
    }
}

/// The future of [`SendBehind::finished`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Finished<'a>(&'a SendBehind);

impl Future for Finished<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.poll_finished(cx)
    }
}
