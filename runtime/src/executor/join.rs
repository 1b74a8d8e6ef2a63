//! Join handles: a task's output, panic or cancellation, delivered to the
//! task that awaits it.

use super::TaskRef;
use crate::shard::Shard;
use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
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

/// Reports `Cancelled` if the task is dropped before it finished.
struct FinishGuard<T> {
    join: Option<Rc<JoinInner<T>>>,
}

impl<T> Drop for FinishGuard<T> {
    fn drop(&mut self) {
        if let Some(join) = self.join.take() {
            join.finish(Err(JoinError::cancelled()));
        }
    }
}

/// Wraps a task's future: runs it, catches a panic, reports to the handle.
pub(crate) async fn run_to_join<F>(future: F, join: Rc<JoinInner<F::Output>>)
where
    F: Future + 'static,
{
    let mut guard = FinishGuard { join: Some(join) };
    let mut future = std::pin::pin!(future);
    let result = std::future::poll_fn(|cx| {
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(panic) => Poll::Ready(Err(JoinError::panic(panic))),
        }
    })
    .await;
    if let Some(join) = guard.join.take() {
        join.finish(result);
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
