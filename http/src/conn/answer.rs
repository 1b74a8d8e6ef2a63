//! Answering one request: at once, with no future of its own, when the
//! handler is ready on its first poll and the response fits the output
//! buffer (nearly every request); through [`Conn::answer_rest`] when
//! something must be waited for.

use super::respond::Queued;
use super::{BodyFraming, Conn, FLUSH_AT};
use crate::body::chunked::Decoder;
use crate::body::Body;
use crate::handler::FutureSlot;
use crate::parse::{Framing, Rejection};
use crate::request::{Parts, Request};
use crate::response::{Response, ResponseBody};
use crate::router::{Answer, Router};
use crate::storage::Storage;
use shardio::pool::LocalPooled;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// What is left to do after [`Conn::answer_now`].
pub(super) enum Step<'a> {
    /// The response is queued: go on to the next request.
    Next,
    /// The response is queued and the output buffer is full: flush it
    /// before parsing more.
    Flush,
    /// The connection can carry no more requests; whatever was queued
    /// should still be flushed.
    Close,
    /// Something must be waited for ([`Conn::answer_rest`]).
    Wait(Rest<'a>),
}

/// What [`Conn::finish_now`] left to do with the response it was lent:
/// the response itself is not passed along unless it must wait, so that
/// the common case does not copy it.
enum Then<'a> {
    /// Nothing more with the response: queued, or the connection closing.
    Step(Step<'a>),
    /// Skip the rest of the body first ([`Rest::Body`]).
    Body,
    /// Write it with writes of its own ([`Rest::Write`]); the flag:
    /// whether the connection may carry another request.
    Write(bool),
}

/// The part of an answer that waits.
pub(super) enum Rest<'a> {
    /// The handler was not ready on its first poll.
    Handler(Answer<'a>, Facts),
    /// The handler left part of the body unread, to be skipped.
    Body(Response, Facts),
    /// The body needs writes of its own: large, streamed or a file.
    Write(Response, Facts, bool),
}

/// What the answer needs of the request, once the handler has it.
#[derive(Clone, Copy)]
pub(super) struct Facts {
    is_head: bool,
    keep_alive: bool,
    has_body: bool,
    pub(super) minor: u8,
}

impl Conn {
    /// Runs one request through the router and, when its handler is ready
    /// at once, queues its response. `cx` is the connection task's:
    /// a handler that is not ready has it to wake the task with.
    pub(super) fn answer_now<'a>(
        self: &Rc<Self>,
        cx: &mut Context<'_>,
        buf: Rc<Storage>,
        parts: LocalPooled<Parts>,
        router: &'a Router,
        slot: &'a mut FutureSlot,
    ) -> Step<'a> {
        let head = parts.line.head;
        let facts = Facts {
            is_head: parts.line.method == crate::Method::Head,
            keep_alive: head.keep_alive,
            has_body: head.framing != Framing::None,
            minor: parts.line.minor,
        };
        // A request without a body (most of them) leaves the connection's
        // body state alone (nothing can read it) and keeps the empty body
        // its parts were cleared to.
        let framing = match head.framing {
            Framing::None => None,
            Framing::Length(n) if n > self.shared.limits.max_body => {
                // Refused before the body is read: the rest of the stream
                // is that body, so the connection cannot go on.
                self.reject(
                    &Rejection {
                        status: 413,
                        reason: "request body too large",
                    },
                    facts.minor,
                );
                return Step::Close;
            }
            Framing::Length(n) => Some((BodyFraming::Length(n), Some(n))),
            Framing::Chunked => Some((BodyFraming::Chunked(Decoder::new()), None)),
        };
        let mut req = Request::new(parts, buf, Some(self.peer));
        if let Some((framing, length)) = framing {
            let generation = self.begin_body(framing, head.expect_continue);
            req.set_body(Body::streaming(self.clone(), generation, length));
        }
        let mut answer = router.call_in(req, slot);
        let mut polled = Pin::new(&mut answer).poll(cx);
        // The response stays where the poll wrote it unless it must wait:
        // copied out whole right after the poll wrote it field by field,
        // it cost a store-forwarding stall per request.
        let Poll::Ready(res) = &mut polled else {
            return Step::Wait(Rest::Handler(answer, facts));
        };
        match self.finish_now(res, facts) {
            Then::Step(step) => step,
            Then::Body => Step::Wait(Rest::Body(ready(polled), facts)),
            Then::Write(keep) => Step::Wait(Rest::Write(ready(polled), facts, keep)),
        }
    }

    /// Settles the body and queues `res`, when no I/O is needed for either.
    #[inline]
    fn finish_now<'a>(&self, res: &mut Response, facts: Facts) -> Then<'a> {
        let body_done = if facts.has_body {
            match self.settle_body() {
                Some(done) => done,
                None => return Then::Body,
            }
        } else {
            true
        };
        self.queue_now(res, facts, body_done)
    }

    /// Queues `res` if it needs no writes of its own.
    #[inline]
    fn queue_now<'a>(&self, res: &mut Response, facts: Facts, body_done: bool) -> Then<'a> {
        let keep = facts.keep_alive && body_done && !self.shared.is_draining();
        match self.queue_response(res, facts.is_head, keep, facts.minor) {
            Queued::Done { keep: false, .. } => Then::Step(Step::Close),
            Queued::Done { full: true, .. } => Then::Step(Step::Flush),
            Queued::Done { .. } => Then::Step(Step::Next),
            Queued::Later(keep) => Then::Write(keep),
        }
    }

    /// Finishes an answer that [`answer_now`](Conn::answer_now) could
    /// not. Returns whether the connection may carry another request.
    pub(super) async fn answer_rest(self: &Rc<Self>, mut rest: Rest<'_>) -> bool {
        loop {
            let step = match rest {
                Rest::Handler(answer, facts) => {
                    // A handler not ready at once lets the responses queued
                    // before it go out: it holds back its own response only.
                    if !self.flush().await {
                        return false;
                    }
                    let mut res = answer.await;
                    match self.finish_now(&mut res, facts) {
                        Then::Step(step) => step,
                        Then::Body => Step::Wait(Rest::Body(res, facts)),
                        Then::Write(keep) => Step::Wait(Rest::Write(res, facts, keep)),
                    }
                }
                Rest::Body(mut res, facts) => {
                    // Rare, and large: boxed, to keep this future small.
                    let body_done = Box::pin(self.drain_body()).await;
                    match self.queue_now(&mut res, facts, body_done) {
                        Then::Step(step) => step,
                        Then::Body => unreachable!("queue_now leaves no body"),
                        Then::Write(keep) => Step::Wait(Rest::Write(res, facts, keep)),
                    }
                }
                Rest::Write(res, facts, keep) if matches!(res.body(), ResponseBody::Upgrade(_)) => {
                    return Box::pin(self.switch(res, facts, keep)).await;
                }
                Rest::Write(res, facts, keep) => {
                    let write = self.write_response(res, facts.is_head, keep, facts.minor);
                    let keep = Box::pin(write).await;
                    let full = self.out_len() >= FLUSH_AT;
                    return keep && (!full || self.flush().await);
                }
            };
            match step {
                Step::Next => return true,
                Step::Flush => return self.flush().await,
                Step::Close => return false,
                Step::Wait(next) => rest = next,
            }
        }
    }
}

/// The response of a poll known to be ready.
fn ready(polled: Poll<Response>) -> Response {
    match polled {
        Poll::Ready(res) => res,
        Poll::Pending => unreachable!("matched as ready"),
    }
}
