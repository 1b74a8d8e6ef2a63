//! One connection's state machine.
//!
//! ```text
//!            ┌──────── idle ◄──────────────────────────┐
//!            │ (one receive waits, holding no buffer;  │ input used up:
//!            │  idle deadline, drain)                  │ flush, give the
//!            ▼                                         │ output buffer back
//!   parse the next head ──partial──► read more (header deadline)
//!            │ complete                                │
//!            ▼                                         │
//!   run the router; body reads pull from the input     │
//!            │                                         │
//!            ▼                                         │
//!   skip what the handler left of the body,            │
//!   append the response to the output buffer ──────────┘
//!            │ error, `Connection: close`, drain
//!            ▼
//!          close (after flushing; lingering if bytes may be unread)
//! ```
//!
//! Every response produced from one read goes out in one send, in order:
//! the output buffer is flushed only when the input runs out, when it
//! grows past [`FLUSH_AT`], before a streamed or file body, or when a
//! handler is not ready at once (so a slow handler holds back its own
//! response only, not those queued before it).

mod answer;
mod body;
mod halves;
mod io;
mod progress;
mod respond;
mod upgrade;

use crate::body::chunked::Decoder;
use crate::body::BodyErrorKind;
use crate::deadlines::EntryKey;
use crate::parse::{self, Parsed, Rejection};
use crate::router::Router;
use crate::server::Shared;
use crate::slots::PooledSlot;
use crate::storage::Storage;
use answer::Step;
pub use halves::{ReadHalf, WriteHalf};
use shardio::net::{RecvStream, SendBehind, TcpStream};
use shardio::pool::LocalPooled;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Instant;
pub(crate) use upgrade::handoff;
pub use upgrade::{Handoff, OnUpgrade, Upgraded};

/// Output beyond this many bytes is sent before more requests are parsed.
const FLUSH_AT: usize = 64 * 1024;

/// The bytes received and not yet parsed or read as body.
#[derive(Default)]
struct Input {
    buf: Option<Rc<Storage>>,
    // INVARIANT: pos <= buf.len()
    pos: usize,
    /// The connection's multishot receive, under
    /// [`Receive::Multishot`](crate::Receive::Multishot) made at its first
    /// wait and kept armed, under `Adaptive` made at its third wait and
    /// stopped once it idles. Boxed: an idle connection without it pays one
    /// word.
    stream: Option<Box<RecvStream>>,
}

impl Input {
    fn remaining(&self) -> usize {
        self.buf.as_ref().map_or(0, |b| b.len() - self.pos)
    }
}

/// What is left of the current request's body.
enum BodyFraming {
    Length(u64),
    Chunked(Decoder),
    Done,
    /// Reading it failed; every later read fails the same way.
    Failed(BodyErrorKind),
}

struct BodyState {
    /// Bumped for every request, so a `Body` kept past its response fails
    /// (it wraps after 2^32 requests on one connection).
    generation: u32,
    framing: BodyFraming,
    limit: u64,
    received: u64,
    /// `100 Continue` is owed before the first body read.
    expect_continue: bool,
    /// The connection was handed over to another protocol ([`Upgraded`]):
    /// no request or body follows, and its task ends without closing it.
    /// Kept here, in the padding after the flag above, rather than in a
    /// field of `Conn` that would grow every connection.
    upgraded: bool,
    /// Under [`Receive::Adaptive`](crate::Receive::Adaptive): waits made
    /// with a receive of their own since the connection last had a
    /// multishot one (at most 2). In the padding too.
    single_waits: u8,
}

pub(crate) struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    shared: Rc<Shared>,
    input: RefCell<Input>,
    /// Taken from the server's pool when a response is written, given back
    /// when the connection goes idle.
    out: RefCell<Option<LocalPooled<Vec<u8>>>>,
    body: RefCell<BodyState>,
    /// The connection's entry in `Shared::deadlines`, armed by each wait
    /// for the client (a request, a send) with that wait's deadline.
    deadline: EntryKey,
    /// The send left running when the last burst went idle
    /// ([`Conn::flush_behind`]); every later write waits for it first.
    sending: Cell<Option<SendBehind>>,
}

impl Conn {
    /// The state of a connection just accepted; it counts as open (against
    /// the shard's maximum) until it drops.
    pub(crate) fn new(stream: TcpStream, peer: SocketAddr, shared: Rc<Shared>) -> Rc<Conn> {
        let _ = stream.set_nodelay(true);
        shared.opened();
        Rc::new(Conn {
            stream,
            peer,
            shared,
            input: RefCell::new(Input::default()),
            out: RefCell::new(None),
            body: RefCell::new(BodyState {
                generation: 0,
                framing: BodyFraming::Done,
                limit: 0,
                received: 0,
                expect_continue: false,
                single_waits: 0,
                upgraded: false,
            }),
            deadline: EntryKey::default(),
            sending: Cell::new(None),
        })
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.input.get_mut().stream.is_some() {
            self.shared.stream_gone();
        }
        self.shared.deadlines.forget(&self.deadline);
        self.shared.closed();
    }
}

/// Serves one connection until it closes.
///
/// This future is the connection's task, and an idle connection is little
/// more than it: the busy states live elsewhere (a burst of requests in a
/// future slot from the shard's pool, closing in an allocation of its
/// own), so what stays while idle is the wait for the next request.
pub(crate) async fn serve(conn: Rc<Conn>, router: Rc<Router>) {
    loop {
        if !conn.wait_for_request().await {
            // The last answer may still be on its way: a client that
            // closed its sending side still reads it.
            conn.settle().await;
            return;
        }
        match Conn::start_burst(&conn, &router).await {
            After::Idle => conn.release_output(),
            After::Close if conn.body.borrow().upgraded => return,
            After::Close => return Box::pin(conn.close()).await,
        }
    }
}

/// What [`Conn::process`] does after [`Conn::answer_now`]: its
/// [`Step`] without the response a `Wait` carries.
#[derive(Clone, Copy)]
enum Next {
    Parse,
    Flush,
    Close,
    Wait,
}

/// Runs a function once, inside the poll of the task that awaits it,
/// with that task's context: what the function needs of the task (its
/// waker) without a clone of it. Ready at once.
struct InTaskPoll<F>(Option<F>);

impl<F> InTaskPoll<F> {
    fn new(f: F) -> InTaskPoll<F> {
        InTaskPoll(Some(f))
    }
}

impl<T, F: FnOnce(&mut Context<'_>) -> T + Unpin> Future for InTaskPoll<F> {
    type Output = T;

    // Inlined into the connection's poll, so that the function's first
    // call costs what a direct call would.
    #[inline(always)]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let f = self.0.take().expect("polled once: it is ready at once");
        Poll::Ready(f(cx))
    }
}

/// What happens after a burst of requests.
pub(crate) enum After {
    Idle,
    Close,
}

impl Conn {
    /// A burst of requests ([`process`](Conn::process)), set up in a slot
    /// from the shard's pool: awaiting it keeps only the slot's loan in
    /// the connection's task.
    fn start_burst(conn: &Rc<Conn>, router: &Rc<Router>) -> PooledSlot<After> {
        let mut burst = conn.shared.burst_slot();
        // Built in place: the future is hundreds of bytes, of which a
        // call writes three words.
        burst.put_with(|| Conn::burst(conn.clone(), router.clone()));
        burst
    }

    /// [`process`](Conn::process), owning what it borrows, so that its
    /// future can go in a pooled slot.
    async fn burst(conn: Rc<Conn>, router: Rc<Router>) -> After {
        conn.process(&router).await
    }

    /// Parses and answers requests while input lasts.
    async fn process(self: &Rc<Self>, router: &Router) -> After {
        // Set when a head is first found incomplete, and kept until it is
        // complete however its bytes trickle in: a complete head (the usual
        // case) costs no clock read.
        let mut deadline: Option<Instant> = None;
        // Where each handler's future goes: a slot from the shard's pool,
        // reused by every request of the burst.
        let mut slot = self.shared.handler_slot();
        loop {
            let parsed = {
                let input = self.input.borrow();
                match &input.buf {
                    Some(buf) if input.pos < buf.len() => {
                        let mut parts = self.shared.request_parts();
                        let limits = &self.shared.limits;
                        let bytes = &buf[input.pos..];
                        let parsed = parse::parse(bytes, input.pos, limits, &mut parts.line);
                        Some((parsed, buf.clone(), parts))
                    }
                    _ => None,
                }
            };
            match parsed {
                None => {
                    // Everything received has been answered: the answers
                    // go out while the connection waits for more.
                    return if self.flush_behind().await {
                        After::Idle
                    } else {
                        After::Close
                    };
                }
                Some((Parsed::Complete, buf, parts)) => {
                    self.input.borrow_mut().pos += parts.line.head.len;
                    // The handler's first poll runs in this task's own
                    // poll, with its context: a handler that is not ready
                    // keeps the task's waker, and a ready one (nearly
                    // every one) costs no waker clone. What must wait is
                    // put aside here rather than moved out with the poll's
                    // result: a response is too big to copy per request.
                    let mut rest = None;
                    let next = InTaskPoll::new(|cx: &mut Context<'_>| {
                        match self.answer_now(cx, buf, parts, router, &mut slot) {
                            Step::Next => Next::Parse,
                            Step::Flush => Next::Flush,
                            Step::Close => Next::Close,
                            Step::Wait(r) => {
                                rest = Some(r);
                                Next::Wait
                            }
                        }
                    })
                    .await;
                    let go_on = match next {
                        Next::Parse => true,
                        Next::Flush => self.flush().await,
                        Next::Close => false,
                        Next::Wait => match rest {
                            Some(rest) => self.answer_rest(rest).await,
                            None => false,
                        },
                    };
                    if !go_on {
                        self.flush().await;
                        return After::Close;
                    }
                    deadline = None;
                }
                Some((Parsed::Partial, ..)) => {
                    // Answers to the requests before this one go out now;
                    // the client may wait for them before sending more.
                    if !self.flush().await {
                        return After::Close;
                    }
                    let by = *deadline
                        .get_or_insert_with(|| Instant::now() + self.shared.timeouts.header);
                    match self.read_more(by).await {
                        Ok(true) => {}
                        Ok(false) => return After::Close,
                        Err(()) => {
                            self.reject(
                                &Rejection {
                                    status: 408,
                                    reason: "request head timed out",
                                },
                                1,
                            );
                            self.flush().await;
                            return After::Close;
                        }
                    }
                }
                Some((Parsed::Invalid(r), ..)) => {
                    self.reject(r, 1);
                    self.flush().await;
                    return After::Close;
                }
            }
        }
    }
}
