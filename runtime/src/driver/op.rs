//! The `Op<T>` future, its multishot sibling `MultiOp<T>`, and the op-table
//! slot state machine they share with the driver.
//!
//! ```text
//!             push                 final CQE
//!   (none) ─────────▶ Submitted ───────────────▶ Completed ──poll──▶ released
//!                       │  ▲ poll                    │
//!                       ▼  │                         │ future dropped
//!                     Waiting ──final CQE──▶ Completed    (orphan sees the CQE, released)
//!                       │
//!                       │ future dropped: resources move into the slot,
//!                       ▼ AsyncCancel pushed
//!                     Ignored ──final CQE──▶ orphan undoes side effects, released
//!
//!   Submitted ──let_run──▶ Behind ──final CQE──▶ finisher drops the
//!                                                resources, wakes a
//!                                                waiting task, released
//! ```
//!
//! Multishot ops stay in `Streaming` and queue each CQE until the one without
//! `IORING_CQE_F_MORE`.

use crate::shard::Shard;
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// One CQE, as the driver hands it to an op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    pub(crate) result: i32,
    pub(crate) flags: u32,
}

impl Completion {
    /// The CQE's `res`: a count, an fd, or `-errno`.
    pub fn result(&self) -> i32 {
        self.result
    }

    /// The CQE's flags (`IORING_CQE_F_*`).
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// The result as `io::Result`: negative values are `-errno`.
    pub fn into_result(self) -> io::Result<u32> {
        if self.result < 0 {
            Err(io::Error::from_raw_os_error(-self.result))
        } else {
            Ok(self.result as u32)
        }
    }
}

/// What an op's resources do with a CQE that arrives after their future is
/// gone. The default is nothing; an op whose success creates something (an
/// accepted or opened fd, a provided buffer) undoes it here.
pub trait Orphan: 'static {
    /// Sees one CQE of an op whose future is gone (including CQEs that had
    /// arrived but were not consumed when it went).
    fn on_cqe(&mut self, _c: &Completion) {}
}

/// An operation: the resources it owns while in flight, and how its final CQE
/// becomes its output.
pub trait OpDef: Orphan + Unpin + Sized {
    /// What the op's future resolves to.
    type Output;
    /// Turns the final CQE (or, for an op with a notification, the first
    /// CQE's result, delivered once the final one arrived) into the output.
    fn complete(self, c: Completion) -> Self::Output;
}

pub(crate) enum State {
    /// Pushed; no future has polled it yet.
    Submitted,
    /// A future is waiting for the final CQE.
    Waiting(Waker),
    /// The final CQE arrived; the future has not taken it yet.
    Completed(Completion),
    /// A multishot op: CQEs queue here until taken. Boxed, so that the
    /// common single-shot slot stays small.
    Streaming(Box<Stream>),
    /// The future was dropped; the slot keeps its resources until the final CQE.
    Ignored(Box<dyn Orphan>),
    /// The op was let run without a future ([`Op::let_run`]): the finisher
    /// owns its resources and sees its final CQE. Not cancelled.
    Behind(Box<dyn Finish>),
}

/// What sees the final CQE of an op let run without a future
/// ([`Op::let_run`]). It owns the op's resources, and drops them then.
///
/// Once finished it holds nothing, and the driver keeps its box for the
/// next op let run with a finisher of the same type, which is written
/// over it: a send let run per request then makes no allocation.
pub(crate) trait Finish: std::any::Any {
    /// The op's result: the final CQE, or the first one for an op with a
    /// notification. Called once, from the driver's reap: it drops the
    /// op's resources, may wake a task, and must not enter the driver.
    fn finish(&mut self, c: Completion);

    /// The tag the op was let run with, which names it apart from a later
    /// op in the same slot.
    fn tag(&self) -> u32;

    /// Wakes `waker`'s task when the op has finished.
    fn wake_when_finished(&mut self, waker: &Waker);
}

/// A multishot op's CQEs, queued until taken; `done` after the final one.
pub(crate) struct Stream {
    queue: VecDeque<Completion>,
    /// The waker of the task that last waited, kept after its wake so
    /// that the same task waiting again clones nothing.
    waker: Option<Waker>,
    /// Whether that task waits now: a CQE wakes it once.
    waiting: bool,
    done: bool,
    /// At most this many CQEs wait untaken before the op is cancelled
    /// (0: no limit).
    limit: u16,
    /// The limit was reached and the op cancelled.
    limited: bool,
}

pub(crate) struct Slot {
    state: State,
    /// A non-final CQE of a single-shot op (SEND_ZC's result before its
    /// notification): the op resolves with it once the final CQE arrives.
    first: Option<Completion>,
}

pub(crate) enum AfterCqe {
    Keep,
    Release,
    /// The op let run has finished: release the slot, and keep its
    /// finisher's box for reuse ([`Finish`]).
    Finished(Box<dyn Finish>),
    /// A multishot op reached its limit of untaken CQEs: cancel it.
    Cancel,
}

pub(crate) enum Orphaned {
    /// The final CQE was already here: release the slot now.
    Finished,
    /// Still in flight: park the resources in the slot and cancel.
    InFlight,
}

impl Slot {
    pub(crate) fn single() -> Slot {
        Slot {
            state: State::Submitted,
            first: None,
        }
    }

    pub(crate) fn streaming(limit: u16) -> Slot {
        Slot {
            state: State::Streaming(Box::new(Stream {
                queue: VecDeque::new(),
                waker: None,
                waiting: false,
                done: false,
                limit,
                limited: false,
            })),
            first: None,
        }
    }

    pub(crate) fn set_state(&mut self, state: State) {
        self.state = state;
    }

    pub(crate) fn is_final(&self) -> bool {
        match &self.state {
            State::Completed(_) => true,
            State::Streaming(s) => s.done && s.queue.is_empty(),
            _ => false,
        }
    }

    /// Applies one CQE to the slot.
    pub(crate) fn complete(&mut self, c: Completion, is_final: bool) -> AfterCqe {
        match &mut self.state {
            State::Ignored(orphan) => {
                orphan.on_cqe(&c);
                if is_final {
                    return AfterCqe::Release;
                }
            }
            State::Streaming(s) => {
                s.queue.push_back(c);
                s.done |= is_final;
                if std::mem::take(&mut s.waiting) {
                    if let Some(w) = &s.waker {
                        w.wake_by_ref();
                    }
                }
                if !s.done && !s.limited && s.limit != 0 && s.queue.len() >= usize::from(s.limit) {
                    s.limited = true;
                    return AfterCqe::Cancel;
                }
            }
            State::Behind(_) => {
                if !is_final {
                    self.first.get_or_insert(c);
                    return AfterCqe::Keep;
                }
                let result = self.first.take().unwrap_or(c);
                if let State::Behind(mut finisher) =
                    std::mem::replace(&mut self.state, State::Completed(result))
                {
                    finisher.finish(result);
                    return AfterCqe::Finished(finisher);
                }
                return AfterCqe::Release;
            }
            State::Submitted | State::Waiting(_) => {
                if !is_final {
                    self.first.get_or_insert(c);
                    return AfterCqe::Keep;
                }
                let result = self.first.take().unwrap_or(c);
                if let State::Waiting(w) =
                    std::mem::replace(&mut self.state, State::Completed(result))
                {
                    w.wake();
                }
            }
            State::Completed(_) => debug_assert!(false, "CQE after the final one"),
        }
        AfterCqe::Keep
    }

    /// Shows `orphan` every CQE that arrived but was not consumed, and says
    /// whether the op is already finished.
    pub(crate) fn take_for_orphan(&mut self, orphan: &mut dyn Orphan) -> Orphaned {
        if let Some(first) = self.first.take() {
            orphan.on_cqe(&first);
        }
        match std::mem::replace(&mut self.state, State::Submitted) {
            State::Completed(c) => {
                orphan.on_cqe(&c);
                Orphaned::Finished
            }
            State::Streaming(s) => {
                for c in &s.queue {
                    orphan.on_cqe(c);
                }
                if s.done {
                    Orphaned::Finished
                } else {
                    Orphaned::InFlight
                }
            }
            _ => Orphaned::InFlight,
        }
    }
}

/// Pushes `sqe` into the current shard's ring with a fresh slot.
///
/// # Safety
///
/// See [`Op::submit`].
unsafe fn submit_slot(slot: Slot, sqe: io_uring::squeue::Entry) -> io::Result<(Rc<Shard>, usize)> {
    let shard = Shard::current()?;
    let key = {
        let mut driver = shard.driver.borrow_mut();
        // SAFETY: forwarded from the caller's contract.
        unsafe { driver.insert(slot, sqe, &shard.counters)? }
    };
    Ok((shard, key))
}

fn orphan_into(shard: &Shard, key: usize, orphan: Box<dyn Orphan>) {
    match shard.driver.try_borrow_mut() {
        Ok(mut driver) => driver.orphan(key, orphan, &shard.counters),
        // Only reachable if a waker re-entered the driver while it reaped;
        // leaking the resources is the one safe answer.
        Err(_) => std::mem::forget(orphan),
    }
}

/// A single-shot operation in flight: resolves with its output once the
/// final CQE has arrived. Dropping it cancels the op; its data is then kept
/// in the shard's op table until the final CQE (see [`crate::uring`]).
#[must_use = "an op does nothing useful unless awaited; dropping it cancels it"]
pub struct Op<T: OpDef> {
    shard: Rc<Shard>,
    key: usize,
    /// `Some` until the op completes or is orphaned.
    data: Option<T>,
}

impl<T: OpDef> Op<T> {
    /// Pushes `sqe` and returns the future that owns `data` while the kernel
    /// works.
    ///
    /// # Safety
    ///
    /// Every pointer in `sqe` must point into storage owned by `data` (or into
    /// static memory) that does not move when `data` is moved, and every fd in
    /// `sqe` must be kept open by `data`. The op table keeps `data` alive until
    /// the final CQE, so those pointers then stay valid for as long as the
    /// kernel may use them.
    ///
    /// # Errors
    ///
    /// Outside a shard, or if the ring cannot take the SQE, the error comes
    /// back with `data` untouched (nothing reached the kernel).
    pub unsafe fn submit(data: T, sqe: io_uring::squeue::Entry) -> Result<Op<T>, (io::Error, T)> {
        // SAFETY: forwarded from the caller's contract.
        match unsafe { submit_slot(Slot::single(), sqe) } {
            Ok((shard, key)) => Ok(Op {
                shard,
                key,
                data: Some(data),
            }),
            Err(e) => Err((e, data)),
        }
    }
}

impl<T: OpDef> std::fmt::Debug for Op<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Op")
            .field("key", &self.key)
            .field("done", &self.data.is_none())
            .finish()
    }
}

impl<T: OpDef> Future for Op<T> {
    type Output = T::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        let this = self.get_mut();
        let mut driver = this.shard.driver.borrow_mut();
        let slot = driver.slot_mut(this.key);
        match &mut slot.state {
            State::Completed(c) => {
                let c = *c;
                if !crate::executor::coop::consume(cx) {
                    return Poll::Pending;
                }
                driver.release(this.key);
                drop(driver);
                let data = this.data.take().expect("Op polled after completion");
                Poll::Ready(data.complete(c))
            }
            State::Waiting(w) => {
                if !w.will_wake(cx.waker()) {
                    *w = cx.waker().clone();
                }
                Poll::Pending
            }
            State::Submitted => {
                slot.state = State::Waiting(cx.waker().clone());
                Poll::Pending
            }
            State::Streaming(_) | State::Ignored(_) | State::Behind(_) => {
                unreachable!("single-shot op in a multishot, orphaned or let-run slot")
            }
        }
    }
}

impl<T: OpDef> Op<T> {
    /// Lets the op run to its end without this future, and without
    /// cancelling it: `make` builds the finisher from the op's data, and
    /// from then on the finisher owns the data and sees the final CQE
    /// ([`Finish::finish`]), in the driver's reap. Returns the op's slot
    /// key, valid while the slot holds the finisher (see
    /// [`Driver::behind`](super::Driver::behind)). Only for ops with no side
    /// effect to undo: the output is never built.
    pub(crate) fn let_run<F: Finish>(mut self, make: impl FnOnce(T) -> F) -> usize {
        let data = self.data.take().expect("Op let run after completion");
        // Built before the driver is borrowed: `make` is the caller's code.
        let value = make(data);
        let mut driver = self.shard.driver.borrow_mut();
        // Written over a finished one's box if the driver keeps one: the
        // old value holds nothing, so dropping it touches no driver.
        let finisher = match driver.spare_finisher::<F>() {
            Some(mut spare) => {
                let any: &mut dyn std::any::Any = &mut *spare;
                *any.downcast_mut::<F>()
                    .expect("a spare of the type asked for") = value;
                spare
            }
            None => Box::new(value),
        };
        let slot = driver.slot_mut(self.key);
        match &slot.state {
            State::Submitted | State::Waiting(_) => slot.state = State::Behind(finisher),
            // Only an op kept across a reap before being let run gets here.
            State::Completed(c) => {
                let c = *c;
                driver.release(self.key);
                drop(driver);
                let mut finisher = finisher;
                finisher.finish(c);
            }
            State::Streaming(_) | State::Ignored(_) | State::Behind(_) => {
                unreachable!("single-shot op in a multishot, orphaned or let-run slot")
            }
        }
        self.key
    }
}

impl Slot {
    /// The finisher of an op let run with `tag`, if this slot still holds
    /// it (the op has not finished).
    pub(crate) fn behind(&mut self, tag: u32) -> Option<&mut dyn Finish> {
        match &mut self.state {
            State::Behind(f) if f.tag() == tag => Some(&mut **f),
            _ => None,
        }
    }
}

impl<T: OpDef> Drop for Op<T> {
    fn drop(&mut self) {
        if let Some(data) = self.data.take() {
            orphan_into(&self.shard, self.key, Box::new(data));
        }
    }
}

/// A multishot operation: yields each CQE until the final one.
pub(crate) struct MultiOp<T: Orphan> {
    shard: Rc<Shard>,
    key: usize,
    /// `Some` until the final CQE was taken or the op was orphaned.
    data: Option<T>,
}

impl<T: Orphan> MultiOp<T> {
    /// Pushes a multishot `sqe`.
    ///
    /// # Safety
    ///
    /// As for [`Op::submit`].
    pub(crate) unsafe fn submit(data: T, sqe: io_uring::squeue::Entry) -> io::Result<MultiOp<T>> {
        // SAFETY: forwarded from the caller's contract.
        unsafe { MultiOp::submit_limited(data, sqe, 0) }
    }

    /// Like [`submit`](MultiOp::submit), but the driver cancels the op
    /// once `limit` CQEs wait untaken (0: never), so that a consumer that
    /// stops taking them bounds what the kernel produces for it.
    ///
    /// # Safety
    ///
    /// As for [`Op::submit`].
    pub(crate) unsafe fn submit_limited(
        data: T,
        sqe: io_uring::squeue::Entry,
        limit: u16,
    ) -> io::Result<MultiOp<T>> {
        // SAFETY: forwarded from the caller's contract.
        let (shard, key) = unsafe { submit_slot(Slot::streaming(limit), sqe)? };
        Ok(MultiOp {
            shard,
            key,
            data: Some(data),
        })
    }

    /// The next CQE, or `None` once the op has ended (the last CQE lacked
    /// `F_MORE`). After `None` the op must be submitted anew to go on.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Completion>> {
        if self.data.is_none() {
            return Poll::Ready(None);
        }
        let mut driver = self.shard.driver.borrow_mut();
        let State::Streaming(stream) = &mut driver.slot_mut(self.key).state else {
            unreachable!("multishot op in a single-shot slot");
        };
        let Stream {
            queue,
            waker,
            waiting,
            done,
            ..
        } = &mut **stream;
        if let Some(c) = queue.pop_front() {
            if !crate::executor::coop::consume(cx) {
                queue.push_front(c);
                return Poll::Pending;
            }
            return Poll::Ready(Some(c));
        }
        if *done {
            driver.release(self.key);
            self.data = None;
            return Poll::Ready(None);
        }
        match waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => *waker = Some(cx.waker().clone()),
        }
        *waiting = true;
        Poll::Pending
    }
}

impl<T: Orphan> MultiOp<T> {
    /// Whether the driver cancelled the op because its limit of untaken
    /// CQEs was reached (see [`submit_limited`](MultiOp::submit_limited)):
    /// its final CQE (`ECANCELED`) then means "taken too slowly", not an
    /// error.
    pub(crate) fn was_limited(&self) -> bool {
        if self.data.is_none() {
            return false;
        }
        let driver = self.shard.driver.borrow();
        matches!(&driver.slot(self.key).state, State::Streaming(s) if s.limited)
    }

    /// Asks the kernel to end the op. CQEs already queued are still yielded,
    /// then the final one (usually `ECANCELED`), then `None`.
    pub(crate) fn cancel(&mut self) {
        if self.data.is_some() {
            let mut driver = self.shard.driver.borrow_mut();
            driver.cancel(self.key, &self.shard.counters);
        }
    }
}

impl<T: Orphan> Drop for MultiOp<T> {
    fn drop(&mut self) {
        if let Some(data) = self.data.take() {
            orphan_into(&self.shard, self.key, Box::new(data));
        }
    }
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Submitted => "Submitted",
            State::Waiting(_) => "Waiting",
            State::Completed(_) => "Completed",
            State::Streaming(_) => "Streaming",
            State::Ignored(_) => "Ignored",
            State::Behind(_) => "Behind",
        };
        f.debug_struct("Slot").field("state", &state).finish()
    }
}
