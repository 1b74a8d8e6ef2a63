//! `RecvStream`: a connection's incoming bytes as a sequence of provided
//! buffers, from one multishot receive that is re-armed as needed.

use crate::buf::{BufRing, RingBuf};
use crate::driver::MultiOp;
use crate::net::fd::SharedFd;
use crate::ops::{self, RecvMulti};
use crate::shard::Shard;
use crate::stats::Counters;
use io_uring::cqueue;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

/// The bytes arriving on a [`TcpStream`](super::TcpStream), delivered in
/// buffers of a [`BufRing`] that the kernel fills as data arrives.
///
/// Made by [`TcpStream::recv_stream`](super::TcpStream::recv_stream). While
/// no data arrives the connection holds no buffer: one multishot receive
/// waits in the kernel. Each [`next`](RecvStream::next) yields the next
/// chunk, in order; the chunk's buffer goes back to the ring when the
/// [`RingBuf`] drops.
///
/// When the ring runs dry (every buffer is held by some `RingBuf`, or
/// filled and not yet taken), the kernel ends the receive with `ENOBUFS`;
/// the bytes stay in the socket and the stream re-arms as soon as a buffer
/// comes back, so nothing is lost or reordered — the connection just waits.
///
/// Dropping the stream cancels the receive; buffers the kernel filled for it
/// afterwards go straight back to the ring, and their bytes are lost. To end
/// the receive without losing any, [`stop`](RecvStream::stop) it and take
/// what it still yields. Do not mix a `RecvStream` with
/// [`read`](super::TcpStream::read) calls on the same connection while it is
/// armed: each would see part of the bytes.
pub struct RecvStream {
    fd: SharedFd,
    ring: BufRing,
    op: Option<MultiOp<RecvMulti>>,
    /// The ring's `returned` count when the receive was last armed.
    armed_at: u64,
    /// The last receive ended with `ENOBUFS`; re-arm once a buffer is back.
    starved: bool,
    done: bool,
    /// [`stop`](RecvStream::stop) was called: do not re-arm.
    stopping: bool,
    /// The stream ended by a stop, not by the peer's close or an error.
    stopped: bool,
    /// Filled buffers that may wait untaken before the receive is stopped
    /// (0: no limit); see [`limit`](RecvStream::limit).
    limit: u16,
}

impl fmt::Debug for RecvStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvStream")
            .field("fd", &self.fd.raw())
            .field("armed", &self.op.is_some())
            .field("starved", &self.starved)
            .field("done", &self.done)
            .field("stopped", &self.stopped)
            .finish()
    }
}

impl RecvStream {
    pub(crate) fn new(fd: SharedFd, ring: BufRing) -> RecvStream {
        RecvStream {
            fd,
            ring,
            op: None,
            armed_at: 0,
            starved: false,
            done: false,
            stopping: false,
            stopped: false,
            limit: 0,
        }
    }

    /// Bounds the buffers this stream may hold filled and untaken: once
    /// `buffers` wait, the driver cancels the receive, and the next
    /// [`next`](RecvStream::next) after they are taken arms a new one. In
    /// between, the bytes stay in the socket (TCP flow control applies),
    /// so a consumer that stops taking cannot drain the shared ring. A few
    /// more may land while the cancellation is on its way (those the kernel
    /// had filled before it). By default there is no limit. `0` removes it.
    ///
    /// Applies from the next receive armed.
    pub fn limit(&mut self, buffers: u16) -> &mut RecvStream {
        self.limit = buffers;
        self
    }

    /// Ends the receive without losing bytes: asks the kernel to cancel it,
    /// and arms no other. [`next`](RecvStream::next) then yields what the
    /// kernel received before the cancel took effect, in order, and `None`
    /// once the receive has ended; [`is_stopped`](RecvStream::is_stopped)
    /// then tells the stop from the peer's close. After that the stream
    /// holds no receive and no buffer, and the connection's next bytes wait
    /// in the socket for whatever reads it next (another stream, or
    /// [`recv_ring`](super::TcpStream::recv_ring)).
    ///
    /// ```no_run
    /// # async fn idle(stream: &shardio::net::TcpStream) -> std::io::Result<()> {
    /// let mut incoming = stream.recv_stream()?;
    /// // ... serve, then give the receive up while the connection idles:
    /// incoming.stop();
    /// while let Some(buf) = incoming.next().await {
    ///     let _late_bytes = buf?; // received before the stop took effect
    /// }
    /// if incoming.is_stopped() {
    ///     drop(incoming); // holds nothing; the next bytes stay in the socket
    ///     let _next = stream.recv_ring(&shardio::buf::BufRing::shard_default()?).await?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn stop(&mut self) {
        if self.done || self.stopping {
            return;
        }
        self.stopping = true;
        if let Some(op) = self.op.as_mut() {
            op.cancel();
        }
    }

    /// Whether the stream ended because of [`stop`](RecvStream::stop): the
    /// peer has not closed, and no byte received was held back.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// The next chunk of bytes, `None` once the peer has closed its side
    /// (or after an error was returned, or once a
    /// [`stop`](RecvStream::stop) has taken effect).
    pub async fn next(&mut self) -> Option<io::Result<RingBuf>> {
        poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Polls for the next chunk; see [`next`](RecvStream::next).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<RingBuf>>> {
        let ring = self.ring.inner();
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            let Some(op) = self.op.as_mut() else {
                if self.stopping {
                    self.done = true;
                    self.stopped = true;
                    return Poll::Ready(None);
                }
                if self.starved && ring.returned() == self.armed_at {
                    // Dry, and no buffer has come back since we last armed.
                    ring.wait_for_buffer(cx.waker());
                    return Poll::Pending;
                }
                self.starved = false;
                self.armed_at = ring.returned();
                match ops::recv_multi(&self.fd, ring, self.limit) {
                    Ok(op) => self.op = Some(op),
                    Err(e) => {
                        self.done = true;
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                continue;
            };
            let c = match op.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                // The receive ended (ENOBUFS, CQ overflow, ...): arm again.
                Poll::Ready(None) => {
                    self.op = None;
                    continue;
                }
                Poll::Ready(Some(c)) => c,
            };
            // Wrap the buffer first, so every path below gives it back.
            let buf =
                cqueue::buffer_select(c.flags).map(|bid| ring.take(bid, c.result.max(0) as usize));
            match c.result {
                n if n > 0 => match buf {
                    Some(buf) => return Poll::Ready(Some(Ok(buf))),
                    None => {
                        self.done = true;
                        return Poll::Ready(Some(Err(io::Error::other(
                            "multishot receive completed without a buffer",
                        ))));
                    }
                },
                0 => {
                    self.done = true;
                    return Poll::Ready(None);
                }
                e if -e == libc::ENOBUFS => {
                    self.starved = true;
                    Shard::with_current(|s| Counters::incr(&s.counters.recv_starved));
                }
                // Stopped at the limit (the driver's cancel): everything it
                // received has been taken, so receive again. Or stopped by
                // `stop`: the op's end, next, ends the stream.
                e if -e == libc::ECANCELED && (self.stopping || op.was_limited()) => {}
                e => {
                    self.done = true;
                    return Poll::Ready(Some(Err(io::Error::from_raw_os_error(-e))));
                }
            }
        }
    }
}
