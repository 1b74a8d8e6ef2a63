//! [`WriteAll`]: sends every initialized byte of a buffer, one send after
//! another until the socket has taken them all.

use crate::buf::{IoBuf, Slice};
use crate::driver::Op;
use crate::net::fd::SharedFd;
use crate::ops::{self, Send};
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// The future of [`TcpStream::write_all`](super::TcpStream::write_all).
///
/// A named type, no larger than the buffer and one send in flight: code
/// that wraps each write in a [`timeout`](crate::time::timeout) keeps a
/// small future.
#[must_use = "futures do nothing unless polled"]
pub struct WriteAll<'a, B: IoBuf> {
    fd: &'a SharedFd,
    state: State<B>,
}

enum State<B: IoBuf> {
    /// Between sends: `done` bytes of `buf` are sent.
    Idle {
        buf: B,
        done: usize,
    },
    /// A send of the bytes from `done` on is in flight.
    Sending {
        op: Op<Send<Slice<B>>>,
        done: usize,
    },
    Finished,
}

impl<'a, B: IoBuf> WriteAll<'a, B> {
    pub(crate) fn new(fd: &'a SharedFd, buf: B) -> WriteAll<'a, B> {
        WriteAll {
            fd,
            state: State::Idle { buf, done: 0 },
        }
    }
}

impl<B: IoBuf> Future for WriteAll<'_, B> {
    type Output = (io::Result<()>, B);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            // The send in flight is polled where it lies: a pending poll
            // (one of the two every send takes) moves nothing.
            if let State::Sending { op, done } = &mut this.state {
                let (res, slice) = ready!(Pin::new(op).poll(cx));
                let buf = slice.into_inner();
                let sent = match res {
                    Ok(0) => return Poll::Ready((Err(io::ErrorKind::WriteZero.into()), buf)),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                    Err(e) => return Poll::Ready((Err(e), buf)),
                };
                let done = *done + sent;
                this.state = State::Idle { buf, done };
            }
            let State::Idle { buf, done } = std::mem::replace(&mut this.state, State::Finished)
            else {
                panic!("WriteAll polled after completion");
            };
            if done >= buf.bytes_init() {
                return Poll::Ready((Ok(()), buf));
            }
            match ops::send(this.fd, buf.slice(done..)) {
                Ok(op) => this.state = State::Sending { op, done },
                Err((e, slice)) => return Poll::Ready((Err(e), slice.into_inner())),
            }
        }
    }
}

impl<B: IoBuf> fmt::Debug for WriteAll<'_, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (state, done) = match &self.state {
            State::Idle { done, .. } => ("idle", *done),
            State::Sending { done, .. } => ("sending", *done),
            State::Finished => ("finished", 0),
        };
        f.debug_struct("WriteAll")
            .field("fd", &self.fd.raw())
            .field("state", &state)
            .field("sent", &done)
            .finish()
    }
}
