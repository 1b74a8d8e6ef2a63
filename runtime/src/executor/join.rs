//! Join handles: a task's output, panic or cancellation, delivered to the
//! task that awaits it.

use super::TaskRef;
use crate::shard::Shard;
use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

enum JoinState<T> {
    Running(Option<Waker>),
    Finished(Result<T, JoinError>),
    Taken,
}

pub(crate) struct JoinInner<T> {
    state: RefCell<JoinState<T>>,
}

impl<T> JoinInner<T> {
    pub(crate) fn new() -> JoinInner<T> {
        JoinInner {
            state: RefCell::new(JoinState::Running(None)),
        }
    }

    fn finish(&self, result: Result<T, JoinError>) {
        let prev = std::mem::replace(&mut *self.state.borrow_mut(), JoinState::Finished(result));
        if let JoinState::Running(Some(waker)) = prev {
            waker.wake();
        }
    }
}

/// Wraps a task's future: runs it, catches a panic, reports to the handle,
/// and reports `Cancelled` if the task is dropped before it finished.
///
/// A plain struct rather than an `async fn`: an `async fn` would keep its
/// `future` argument and the pinned local it moves into as two slots,
/// doubling every task's allocation.
pub(crate) struct RunToJoin<F: Future> {
    /// Dropped by hand, before the handle hears of the cancellation.
    future: ManuallyDrop<F>,
    /// `None` once the output went to the handle.
    join: Option<Rc<JoinInner<F::Output>>>,
}

impl<F: Future> RunToJoin<F> {
    pub(crate) fn new(future: F, join: Rc<JoinInner<F::Output>>) -> RunToJoin<F> {
        RunToJoin {
            future: ManuallyDrop::new(future),
            join: Some(join),
        }
    }
}

impl<F: Future> Future for RunToJoin<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `future` is structurally pinned: it is never moved out of
        // `self` (only dropped in place, in `drop`), and `join` is not
        // pinned, so handing out `&mut` to it is fine.
        let this = unsafe { self.get_unchecked_mut() };
        if this.join.is_none() {
            return Poll::Ready(());
        }
        // SAFETY: see above; the pinned `future` lives inside the pinned
        // `self` until `drop`.
        let future = unsafe { Pin::new_unchecked(&mut *this.future) };
        let result = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(v)) => Ok(v),
            Ok(Poll::Pending) => return Poll::Pending,
            Err(panic) => Err(JoinError::panic(panic)),
        };
        if let Some(join) = this.join.take() {
            join.finish(result);
        }
        Poll::Ready(())
    }
}

impl<F: Future> Drop for RunToJoin<F> {
    fn drop(&mut self) {
        // SAFETY: `future` is dropped exactly once, here, and never used
        // again; dropping in place keeps the pinning promise.
        unsafe { ManuallyDrop::drop(&mut self.future) };
        if let Some(join) = self.join.take() {
            join.finish(Err(JoinError::cancelled()));
        }
    }
}

/// An owned permission to await a spawned task's output, or abort it.
///
/// Dropping the handle detaches the task: it keeps running.
pub struct JoinHandle<T> {
    inner: Rc<JoinInner<T>>,
    task: TaskRef,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(inner: Rc<JoinInner<T>>, task: TaskRef) -> JoinHandle<T> {
        JoinHandle { inner, task }
    }

    /// Aborts the task: it is dropped (with every operation it has in flight,
    /// which the shard cancels) before it is polled again. Awaiting the handle
    /// then yields a cancelled [`JoinError`], unless the task had finished.
    pub fn abort(&self) {
        if let JoinState::Running(_) = &*self.inner.state.borrow() {
            Shard::with_current(|shard| shard.executor.abort(self.task));
        }
    }

    /// Whether the task has finished (with output, panic or cancellation).
    pub fn is_finished(&self) -> bool {
        !matches!(&*self.inner.state.borrow(), JoinState::Running(_))
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.inner.state.borrow_mut();
        match &mut *state {
            JoinState::Running(waker) => {
                match waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
            JoinState::Finished(_) => {
                if !super::coop::consume(cx) {
                    return Poll::Pending;
                }
                match std::mem::replace(&mut *state, JoinState::Taken) {
                    JoinState::Finished(result) => Poll::Ready(result),
                    _ => unreachable!(),
                }
            }
            JoinState::Taken => panic!("JoinHandle polled after it returned"),
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a task produced no output.
pub struct JoinError {
    repr: Repr,
}

enum Repr {
    Cancelled,
    Panic(Box<dyn Any + Send + 'static>),
}

impl JoinError {
    fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: Repr::Panic(payload),
        }
    }

    /// The task was aborted, or dropped at shard shutdown.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// The task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic payload, to resume the panic with `std::panic::resume_unwind`.
    ///
    /// # Panics
    ///
    /// Panics if the error is not a panic.
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.repr {
            Repr::Panic(p) => p,
            Repr::Cancelled => panic!("JoinError::into_panic on a cancelled task"),
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("<non-string panic payload>")
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => f.write_str("task was cancelled"),
            Repr::Panic(p) => write!(f, "task panicked: {}", panic_message(&**p)),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        std::io::Error::other(e.to_string())
    }
}
