//! [`RecvRing`]: one receive into a buffer of a provided buffer ring.

use crate::buf::ring::RingInner;
use crate::buf::RingBuf;
use crate::driver::Op;
use crate::ops::{self, RecvSelect};
use crate::shard::Shard;
use crate::stats::Counters;
use crate::uring::SharedFd;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// The future of [`TcpStream::recv_ring`](super::TcpStream::recv_ring).
///
/// A named type, and a small one (it is what an idle connection's task
/// holds while it waits): the receive's op handle and the ring's return
/// count when it was armed.
#[must_use = "futures do nothing unless polled"]
pub struct RecvRing<'a> {
    fd: &'a SharedFd,
    ring: &'a Rc<RingInner>,
    state: State,
}

enum State {
    /// Not submitted yet: the receive goes out on the first poll.
    Ready,
    /// In flight. `armed_at`: the ring's return count at submission.
    Receiving {
        op: Op<RecvSelect>,
        armed_at: u64,
    },
    /// The ring had no free buffer (`ENOBUFS`): wait until one comes back
    /// after `armed_at`, then submit again. The bytes stay in the socket.
    Starved {
        armed_at: u64,
    },
    Done,
}

impl<'a> RecvRing<'a> {
    pub(crate) fn new(fd: &'a SharedFd, ring: &'a Rc<RingInner>) -> RecvRing<'a> {
        RecvRing {
            fd,
            ring,
            state: State::Ready,
        }
    }
}

impl Future for RecvRing<'_> {
    type Output = io::Result<Option<RingBuf>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Ready => {
                    let armed_at = this.ring.returned();
                    let op = match ops::recv_select(this.fd, this.ring) {
                        Ok(op) => op,
                        Err(e) => {
                            this.state = State::Done;
                            return Poll::Ready(Err(e));
                        }
                    };
                    this.state = State::Receiving { op, armed_at };
                }
                State::Receiving { op, armed_at } => match Pin::new(op).poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                        Shard::with_current(|s| Counters::incr(&s.counters.recv_starved));
                        this.state = State::Starved {
                            armed_at: *armed_at,
                        };
                    }
                    Poll::Ready(r) => {
                        this.state = State::Done;
                        return Poll::Ready(r);
                    }
                },
                State::Starved { armed_at } => {
                    if this.ring.returned() == *armed_at {
                        this.ring.wait_for_buffer(cx.waker());
                        return Poll::Pending;
                    }
                    this.state = State::Ready;
                }
                State::Done => panic!("RecvRing polled after completion"),
            }
        }
    }
}

impl fmt::Debug for RecvRing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Ready => "ready",
            State::Receiving { .. } => "receiving",
            State::Starved { .. } => "starved",
            State::Done => "done",
        };
        f.debug_struct("RecvRing")
            .field("fd", &self.fd.raw())
            .field("state", &state)
            .finish()
    }
}
