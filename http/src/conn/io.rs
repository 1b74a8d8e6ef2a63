//! Moving bytes: waiting for a request, reading more of one, flushing the
//! output buffer, closing.

use super::Conn;
use crate::deadlines::Within;
use crate::encode;
use crate::fields::Fields;
use crate::parse::Rejection;
use crate::storage::Storage;
use crate::Receive;
use shardio::buf::RingBuf;
use shardio::net::{RecvRing, RecvStream, SendBehind};
use shardio::pool::LocalPooled;
use std::cell::RefMut;
use std::future::Future;
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// How long a closing connection keeps reading (and discarding) so that
/// the client gets our last response before any reset.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 256 * 1024;

impl Conn {
    /// Waits, holding no buffer, until the next request's first bytes
    /// arrive, and makes them the input. `false`: the peer closed, the idle
    /// deadline passed, the server is draining, or the socket failed.
    #[inline]
    pub(super) fn wait_for_request(&self) -> WaitForRequest<'_> {
        if self.shared.receive == Receive::Adaptive {
            self.adapt_receive();
        }
        WaitForRequest {
            conn: self,
            recv: self.recv(),
            armed: Armed::Not,
            stopping: false,
            received: false,
        }
    }

    /// Under [`Receive::Adaptive`], at the start of a wait: the third wait
    /// in a row made with a receive of its own makes the connection's
    /// multishot receive instead, if the shard has one left
    /// ([`Server::max_multishot`](crate::Server::max_multishot)); if not, each
    /// later wait asks again. Out of line: the other modes never call it,
    /// and their wait stays small enough to inline.
    #[inline(never)]
    fn adapt_receive(&self) {
        let mut input = self.input.borrow_mut();
        if input.stream.is_some() {
            return;
        }
        let mut body = self.body.borrow_mut();
        if body.single_waits < 2 {
            body.single_waits += 1;
            return;
        }
        if !self.shared.stream_left() {
            return;
        }
        body.single_waits = 0;
        input.stream = Some(self.new_stream());
    }

    fn new_stream(&self) -> Box<RecvStream> {
        self.shared.stream_made();
        let mut stream = self.stream.recv_stream_with(&self.shared.ring);
        stream.limit(crate::MULTISHOT_LIMIT);
        Box::new(stream)
    }

    /// Whether the connection receives through its multishot receive: a
    /// read dropped while it waits then loses nothing.
    pub(super) fn streaming(&self) -> bool {
        match self.shared.receive {
            Receive::PerWait => false,
            Receive::Multishot => true,
            Receive::Adaptive => self.input.borrow().stream.is_some(),
        }
    }

    /// The next bytes received: `Ok(None)` once the peer has closed its
    /// side. Holds no buffer until bytes arrive.
    pub(super) fn recv(&self) -> Recv<'_> {
        if self.streaming() {
            Recv::Stream(self)
        } else {
            Recv::Once(self.stream.recv_ring(&self.shared.ring))
        }
    }

    /// Polls the connection's multishot receive, arming it first if it has
    /// none. Cancel-safe: the receive is the connection's, so a poll that
    /// is not followed up loses nothing.
    pub(super) fn poll_stream(&self, cx: &mut Context<'_>) -> Poll<io::Result<Option<RingBuf>>> {
        let mut input = self.input.borrow_mut();
        let stream = input.stream.get_or_insert_with(|| self.new_stream());
        stream.poll_next(cx).map(Option::transpose)
    }

    /// Asks the multishot receive to stop ([`RecvStream::stop`]): what it
    /// had received still comes, then its end.
    fn stop_stream(&self) {
        if let Some(stream) = self.input.borrow_mut().stream.as_mut() {
            stream.stop();
        }
    }

    /// Lets the multishot receive go if a stop has ended it: the
    /// connection then receives with a receive per wait. `false` if it
    /// ended otherwise (the peer's close, an error).
    fn drop_stopped_stream(&self) -> bool {
        let mut input = self.input.borrow_mut();
        if !input.stream.as_ref().is_some_and(|s| s.is_stopped()) {
            return false;
        }
        input.stream = None;
        self.shared.stream_gone();
        true
    }

    /// Reads more of a request head, by `deadline`. `Ok(false)`: the peer
    /// closed or the socket failed; `Err`: the deadline passed.
    pub(super) async fn read_more(&self, deadline: Instant) -> Result<bool, ()> {
        match shardio::time::timeout_at(deadline, self.recv()).await {
            Ok(Ok(Some(buf))) => {
                self.push_input(buf);
                Ok(true)
            }
            Ok(_) => Ok(false),
            Err(_) => Err(()),
        }
    }

    /// Makes `buf` the input, after what is left of the old one (copied
    /// together only when a request head spans receives).
    pub(super) fn push_input(&self, buf: RingBuf) {
        let mut input = self.input.borrow_mut();
        let input = &mut *input;
        let left = input.remaining();
        let storage = if left == 0 {
            Storage::Ring(buf)
        } else {
            let old = input.buf.as_ref().expect("bytes are left");
            let mut joined = Vec::with_capacity(left + buf.len());
            joined.extend_from_slice(&old[input.pos..]);
            joined.extend_from_slice(&buf);
            Storage::Heap(joined.into_boxed_slice())
        };
        let old = input.buf.replace(self.shared.storage.wrap(storage));
        input.pos = 0;
        if let Some(old) = old {
            self.shared.storage.give_back(old);
        }
    }

    /// The output buffer, taken from the server's pool if the connection
    /// holds none.
    pub(super) fn out(&self) -> RefMut<'_, LocalPooled<Vec<u8>>> {
        RefMut::map(self.out.borrow_mut(), |out| {
            out.get_or_insert_with(|| self.shared.output_buffer())
        })
    }

    /// How many bytes wait in the output buffer.
    pub(super) fn out_len(&self) -> usize {
        self.out.borrow().as_ref().map_or(0, |out| out.len())
    }

    /// Gives the output buffer back to the pool, and drops the input
    /// buffer, when the connection goes idle.
    pub(super) fn release_output(&self) {
        self.out.borrow_mut().take();
        let mut input = self.input.borrow_mut();
        if input.remaining() == 0 {
            if let Some(buf) = input.buf.take() {
                self.shared.storage.give_back(buf);
            }
        }
    }

    /// Sends what the output buffer holds, within the write timeout.
    /// `false`: the write failed or timed out; the connection must close.
    pub(super) async fn flush(&self) -> bool {
        if !self.settled_now() && !self.settle().await {
            return false;
        }
        let Some(out) = self.take_output() else {
            return true;
        };
        let write = self.stream.write_all(out);
        match self.within_write_timeout(write).await {
            Some((Ok(()), mut out)) => {
                out.clear();
                *self.out.borrow_mut() = Some(out);
                true
            }
            // A timed-out write was cancelled; its buffer went with it.
            Some((Err(_), _)) | None => false,
        }
    }

    /// Sends what the output buffer holds and leaves the send running
    /// ([`SendBehind`](shardio::net::SendBehind)): the buffer goes back to
    /// the pool when the kernel has taken it, without waking the task,
    /// which meanwhile waits for the next request. The next write waits
    /// for it ([`settle`](Conn::settle)); so does an idle wait for a
    /// client that stops reading ([`WaitForRequest`]). `false`: an earlier
    /// send timed out, or the ring refused this one.
    pub(super) async fn flush_behind(&self) -> bool {
        if !self.settled_now() && !self.settle().await {
            return false;
        }
        let Some(out) = self.take_output() else {
            return true;
        };
        match self.stream.send_behind(out) {
            Ok(behind) => {
                self.sending.set(Some(behind));
                true
            }
            Err(_) => false,
        }
    }

    /// The output buffer, taken to be sent; `None` when it holds nothing
    /// (an empty buffer stays).
    fn take_output(&self) -> Option<LocalPooled<Vec<u8>>> {
        let out = self.out.borrow_mut().take()?;
        if out.is_empty() {
            *self.out.borrow_mut() = Some(out);
            return None;
        }
        Some(out)
    }

    /// Waits, within the write timeout, for the send left running by
    /// [`flush_behind`](Conn::flush_behind), if there is one. `false`: it
    /// timed out and was cancelled; nothing may follow it. (A send that
    /// failed shut the socket's sending side: the next write fails.)
    pub(super) async fn settle(&self) -> bool {
        let Some(behind) = self.sending.take().and_then(SendBehind::into_running) else {
            return true;
        };
        // Dropped on timeout, which cancels the send.
        self.within_write_timeout(behind.finished()).await.is_some()
    }

    /// Whether the send left running by [`flush_behind`](Conn::flush_behind),
    /// if any, has finished, found without a wait. `false`: it is still
    /// running ([`settle`](Conn::settle) waits for it).
    pub(super) fn settled_now(&self) -> bool {
        let running = self.sending.take().and_then(SendBehind::into_running);
        let settled = running.is_none();
        self.sending.set(running);
        settled
    }

    /// Whether a send left running by [`flush_behind`](Conn::flush_behind)
    /// may still be in the kernel's hands (not looked up: a send left at
    /// the end of a burst always is when the connection starts waiting).
    fn has_send_behind(&self) -> bool {
        let behind = self.sending.take();
        let has = behind.is_some();
        self.sending.set(behind);
        has
    }

    /// Sends `buf` after whatever is buffered, within the write timeout.
    pub(super) async fn send<B: shardio::IoBuf>(&self, buf: B) -> io::Result<()> {
        if !self.flush().await {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        match self.within_write_timeout(self.stream.write_all(buf)).await {
            Some((r, _)) => r,
            None => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading (write timeout)",
            )),
        }
    }

    /// `write`, given up (`None`, the write cancelled) if the client has
    /// not taken it all within the write timeout. The deadline is an entry
    /// in the server's table of waiting connections, counted from the
    /// start of the shard's turn: a clock read shared with the other
    /// connections the turn serves (the timeout is in seconds; the turn,
    /// microseconds).
    fn within_write_timeout<F: Future + Unpin>(&self, write: F) -> Within<'_, F> {
        self.shared
            .deadlines
            .within(&self.deadline, self.shared.timeouts.write, write)
    }

    /// Queues a small error response that closes the connection.
    pub(super) fn reject(&self, r: &Rejection, minor: u8) {
        let headers = Fields::with_known_content_type("text/plain; charset=utf-8");
        let mut out = self.out();
        let body = r.reason.len() + 1;
        encode::head(
            &mut out,
            r.status,
            &headers,
            encode::Length::Known(body as u64),
            false,
            minor,
        );
        out.extend_from_slice(r.reason.as_bytes());
        out.push(b'\n');
    }

    /// Closes after the last response: stops sending, then reads and drops
    /// what the client still sends for a moment, so that closing with
    /// unread bytes does not reset the connection before the client has
    /// read our response.
    pub(super) async fn close(&self) {
        // Every path here has flushed, which settles a send left running;
        // the end of the stream must follow it all the same.
        if !self.settled_now() {
            self.settle().await;
        }
        if self.stream.shutdown(Shutdown::Write).await.is_err() {
            return;
        }
        self.input.borrow_mut().buf = None;
        let deadline = Instant::now() + LINGER;
        let mut seen = 0;
        while seen < LINGER_BYTES {
            match shardio::time::timeout_at(deadline, self.recv()).await {
                Ok(Ok(Some(buf))) => seen += buf.len(),
                _ => break,
            }
        }
    }
}

/// What an idle connection's task waits in: its receive, with the
/// connection's entry in the server's table of waiting connections armed
/// with the idle deadline (and woken by a drain). A struct rather than an
/// `async` block, to keep an idle connection small.
///
/// While the last answer is still being sent ([`Conn::flush_behind`]),
/// the entry is armed with the write timeout instead, if that is the
/// shorter: a client that stops reading is cut off by it, as a waiting
/// send would be. Once the send is done, the rest of the idle timeout
/// runs from then (so an idle connection can last up to one more tick of
/// the sweeper than the idle timeout).
pub(super) struct WaitForRequest<'a> {
    conn: &'a Conn,
    recv: Recv<'a>,
    /// Which deadline this wait has armed the connection's entry with.
    armed: Armed,
    /// The multishot receive is being stopped: take what it still yields.
    stopping: bool,
    /// Bytes came while it was: a request to serve once it has ended.
    received: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Armed {
    Not,
    Idle,
    /// The write timeout, shorter than the idle one, for a send still
    /// running.
    Write,
    /// Under [`Receive::Adaptive`], with the multishot receive: one tick of
    /// the sweep, after which the connection gives that receive up.
    Stream,
}

impl Future for WaitForRequest<'_> {
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let this = &mut *self;
        let conn = this.conn;
        let shared = &*conn.shared;
        if shared.is_draining() {
            return Poll::Ready(false);
        }
        if conn.input.borrow().remaining() > 0 {
            // Pipelined bytes beyond the last request: no wait.
            return Poll::Ready(true);
        }
        loop {
            if let Poll::Ready(r) = this.poll_recv(cx) {
                return Poll::Ready(r);
            }
            let timeouts = &shared.timeouts;
            match this.armed {
                Armed::Not if shared.receive == Receive::Adaptive && conn.streaming() => {
                    let tick = shared.deadlines.tick().min(timeouts.idle);
                    shared.deadlines.arm(&conn.deadline, cx.waker(), tick);
                    this.armed = Armed::Stream;
                }
                Armed::Not => this.arm(cx, Duration::ZERO),
                _ if !shared.deadlines.expired(&conn.deadline, cx.waker()) => {}
                Armed::Stream => {
                    // Idle for a tick: give the multishot receive up, and
                    // wait out the rest of the timeouts as any wait does.
                    conn.stop_stream();
                    this.stopping = true;
                    this.arm(cx, shared.deadlines.tick());
                    continue;
                }
                Armed::Write if conn.settled_now() => {
                    let rest = timeouts.idle - timeouts.write;
                    shared.deadlines.arm(&conn.deadline, cx.waker(), rest);
                    this.armed = Armed::Idle;
                }
                Armed::Write => {
                    // The client stopped reading: give the send up (dropping
                    // it cancels it) rather than wait for it any longer.
                    drop(conn.sending.take());
                    return Poll::Ready(false);
                }
                Armed::Idle => return Poll::Ready(false),
            }
            return Poll::Pending;
        }
    }
}

impl WaitForRequest<'_> {
    /// Polls the receive. While the multishot receive is being stopped,
    /// takes what it still yields and, once it has ended, serves what came
    /// or goes on waiting with a receive of the wait's own.
    #[inline]
    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        let conn = self.conn;
        loop {
            let r = match Pin::new(&mut self.recv).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(r) => r,
            };
            match r {
                Ok(Some(buf)) => {
                    conn.push_input(buf);
                    if !self.stopping {
                        return Poll::Ready(true);
                    }
                    self.received = true;
                }
                Ok(None) if conn.drop_stopped_stream() => {
                    self.stopping = false;
                    if self.received {
                        return Poll::Ready(true);
                    }
                    self.recv = conn.recv();
                }
                // The peer closed or the socket failed, after any bytes
                // that came while stopping: those are served first.
                Ok(None) | Err(_) => return Poll::Ready(self.received),
            }
        }
    }

    /// Arms the connection's deadline for a wait for the client: the write
    /// timeout if it is the shorter and a send still runs, else the idle
    /// one; `spent` of it has passed already.
    #[inline]
    fn arm(&mut self, cx: &mut Context<'_>, spent: Duration) {
        let conn = self.conn;
        let timeouts = &conn.shared.timeouts;
        let (armed, timeout) = if timeouts.write < timeouts.idle && conn.has_send_behind() {
            (Armed::Write, timeouts.write)
        } else {
            (Armed::Idle, timeouts.idle)
        };
        conn.shared
            .deadlines
            .arm(&conn.deadline, cx.waker(), timeout.saturating_sub(spent));
        self.armed = armed;
    }
}

/// The future of [`Conn::recv`]: a receive of its own, or the
/// connection's multishot one.
pub(super) enum Recv<'a> {
    Once(RecvRing<'a>),
    Stream(&'a Conn),
}

impl Future for Recv<'_> {
    type Output = io::Result<Option<RingBuf>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            Recv::Once(recv) => Pin::new(recv).poll(cx),
            Recv::Stream(conn) => conn.poll_stream(cx),
        }
    }
}

/// Ends the connection's sending when dropped armed: it guards a send that
/// may be given up part way (its future dropped), after which nothing can
/// tell how much went out, so nothing may follow it. It shuts the write
/// side with `shutdown(2)` at once (a `Drop` cannot await; no fd closes
/// under the cancelled send), and every later send fails.
pub(super) struct CutIfDropped<'a> {
    conn: &'a Conn,
    armed: bool,
}

impl<'a> CutIfDropped<'a> {
    pub(super) fn new(conn: &'a Conn) -> CutIfDropped<'a> {
        CutIfDropped { conn, armed: true }
    }

    /// The send finished: nothing to cut.
    pub(super) fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for CutIfDropped<'_> {
    fn drop(&mut self) {
        if self.armed {
            // Fails if the client is gone already: then nothing follows.
            let _ = self.conn.stream.shutdown_now(Shutdown::Write);
        }
    }
}
