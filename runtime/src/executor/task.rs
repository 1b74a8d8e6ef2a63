//! Task storage, the run queue and the waker.

use super::join::{JoinHandle, JoinInner, RunToJoin};
use super::{coop, Remote};
use crate::shard::Shard;
use crate::stats::Counters;
use slab::Slab;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::VecDeque;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Names a task: slab key plus generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TaskRef {
    key: u32,
    gen: u32,
}

impl TaskRef {
    /// The shard's main future (the one `block_on` drives).
    pub(crate) const MAIN: TaskRef = TaskRef {
        key: u32::MAX,
        gen: 0,
    };
}

struct TaskSlot {
    task: Arc<dyn Task>,
    aborted: bool,
}

impl Drop for TaskSlot {
    fn drop(&mut self) {
        // SAFETY: slots live in the executor's slab, so this runs on the
        // home shard; a slot is removed (and dropped) only outside its
        // task's poll (see `Executor::run`).
        unsafe { self.task.drop_future() };
    }
}

/// A task as the executor sees it: its waker state and its future.
trait Task {
    fn header(&self) -> &TaskWaker;
    /// Polls the future with a waker that schedules this task, borrowed
    /// from the task's own `Arc`: a poll counts no reference up or down
    /// (four atomic operations, for the executor's `Arc` and the waker's,
    /// when both were cloned for every poll).
    ///
    /// # Safety
    ///
    /// Only on the home shard, and not while the task is already being
    /// polled or after `drop_future`; `self` is the cell of an
    /// `Arc<TaskCell<_>>` that the caller keeps alive for the call.
    unsafe fn poll(&self) -> Poll<()>;
    /// Drops the future in place (once finished, aborted, or at teardown).
    ///
    /// # Safety
    ///
    /// Only on the home shard, and not while the task is being polled.
    unsafe fn drop_future(&self);
}

/// One task in one allocation: the waker state other threads may touch,
/// and the future only the home shard touches.
struct TaskCell<F> {
    header: TaskWaker,
    /// `None` once dropped, which the home shard always does before it
    /// lets go of the task: a waker on another thread may hold the last
    /// reference, and must then free only memory, never the future.
    future: UnsafeCell<Option<F>>,
}

// Other threads reach a `TaskCell` only through its wakers, which use
// `header` alone (atomics, and the remote queue the `Arc<Remote>` keeps
// alive). The future is polled and dropped only on the home shard (see
// `Task`), always before the slab's reference goes, so no `!Send` value is
// touched or dropped elsewhere.
// SAFETY: the `Arc` keeps the cell alive for every waker; by the above,
// only `Send + Sync` state is shared across threads.
unsafe impl<F> Send for TaskCell<F> {}
// SAFETY: as above.
unsafe impl<F> Sync for TaskCell<F> {}

impl<F: Future<Output = ()> + 'static> Task for TaskCell<F> {
    fn header(&self) -> &TaskWaker {
        &self.header
    }

    // SAFETY: `Task::poll`'s contract: the caller is the executor on the
    // home shard, and its slab slot owns the `Arc<TaskCell<F>>` that `self`
    // points into until after this call returns.
    unsafe fn poll(&self) -> Poll<()> {
        // SAFETY: a `TaskCell` is only ever made inside an `Arc`
        // (`Executor::insert`), and the caller keeps that `Arc` alive for
        // the call; `ManuallyDrop` keeps this copy from counting down.
        let this = ManuallyDrop::new(unsafe { Arc::from_raw(self as *const Self) });
        let waker = futures_task::waker_ref(&this);
        let mut cx = Context::from_waker(&waker);
        // SAFETY: the caller guarantees exclusive access on the home shard.
        // The future lives inside the `Arc`'s allocation and is never
        // moved out of it, only dropped in place, so pinning holds.
        unsafe {
            match &mut *self.future.get() {
                Some(future) => Pin::new_unchecked(future).poll(&mut cx),
                None => Poll::Ready(()),
            }
        }
    }

    // SAFETY: `Task::drop_future`'s contract: the caller is the slot's drop
    // on the home shard, outside the task's poll, and the slot's `Arc`
    // keeps `self` alive for the call.
    unsafe fn drop_future(&self) {
        // SAFETY: the caller guarantees exclusive access on the home shard;
        // assigning `None` drops the future in place.
        unsafe { *self.future.get() = None };
    }
}

impl<F: Future<Output = ()> + 'static> futures_task::ArcWake for TaskCell<F> {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.header.schedule();
    }
}

/// The waker of one task. `Send + Sync`: see the module invariants.
pub(crate) struct TaskWaker {
    task: TaskRef,
    queued: AtomicBool,
    remote: Arc<Remote>,
}

impl TaskWaker {
    pub(crate) fn new(task: TaskRef, remote: Arc<Remote>) -> TaskWaker {
        TaskWaker {
            task,
            // A new task is scheduled by whoever creates it.
            queued: AtomicBool::new(true),
            remote,
        }
    }
}

impl TaskWaker {
    /// Puts the task in its shard's run queue, unless it is there already.
    fn schedule(&self) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let task = self.task;
        let local = Shard::with_current(|shard| {
            // Each shard has its own remote queue: it names the home shard.
            if Arc::ptr_eq(&shard.remote, &self.remote) {
                shard.executor.run_queue.borrow_mut().push_back(task);
                true
            } else {
                false
            }
        });
        if local != Some(true) {
            self.remote.push(task);
        }
    }
}

/// The main future's waker.
impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.schedule();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule();
    }
}

pub(crate) struct Executor {
    tasks: RefCell<Slab<TaskSlot>>,
    pub(crate) run_queue: RefCell<VecDeque<TaskRef>>,
    /// Tasks that yielded ([`yield_now`](super::yield_now)) or spent their
    /// coop budget: woken after the shard's next visit to the ring, not
    /// polled again in the same batch.
    deferred: RefCell<Vec<Waker>>,
    next_gen: Cell<u32>,
    main_waker: RefCell<Option<(Waker, Arc<TaskWaker>)>>,
}

impl Executor {
    pub(crate) fn new() -> Executor {
        Executor {
            tasks: RefCell::new(Slab::new()),
            run_queue: RefCell::new(VecDeque::new()),
            deferred: RefCell::new(Vec::new()),
            next_gen: Cell::new(0),
            main_waker: RefCell::new(None),
        }
    }

    pub(crate) fn spawn<F>(&self, shard: &Shard, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let join = Rc::new(JoinInner::new());
        let task = self.insert(shard, RunToJoin::new(future, join.clone()));
        JoinHandle::new(join, task)
    }

    /// Spawns a task whose output nobody awaits: no join state is kept.
    pub(crate) fn spawn_detached<F>(&self, shard: &Shard, future: F)
    where
        F: Future<Output = ()> + 'static,
    {
        self.insert(shard, Detached(future));
    }

    fn insert<F>(&self, shard: &Shard, future: F) -> TaskRef
    where
        F: Future<Output = ()> + 'static,
    {
        let gen = self.next_gen.get().wrapping_add(1);
        self.next_gen.set(gen);
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let task = TaskRef {
            key: u32::try_from(entry.key()).expect("fewer than 2^32 tasks"),
            gen,
        };
        entry.insert(TaskSlot {
            task: Arc::new(TaskCell {
                header: TaskWaker::new(task, shard.remote.clone()),
                future: UnsafeCell::new(Some(future)),
            }),
            aborted: false,
        });
        drop(tasks);
        self.run_queue.borrow_mut().push_back(task);
        Counters::incr(&shard.counters.tasks_spawned);
        Counters::incr(&shard.counters.tasks_alive);
        task
    }

    /// The waker of the main future (the one `block_on` drives).
    pub(crate) fn main_waker(&self, shard: &Shard) -> Waker {
        let mut main = self.main_waker.borrow_mut();
        let (waker, _) = main.get_or_insert_with(|| {
            let tw = Arc::new(TaskWaker::new(TaskRef::MAIN, shard.remote.clone()));
            (Waker::from(tw.clone()), tw)
        });
        waker.clone()
    }

    /// Marks the main future as not queued (just before it is polled).
    pub(crate) fn main_polled(&self) {
        if let Some((_, tw)) = &*self.main_waker.borrow() {
            tw.queued.store(false, Ordering::Release);
        }
    }

    pub(crate) fn pop(&self) -> Option<TaskRef> {
        self.run_queue.borrow_mut().pop_front()
    }

    /// Whether a task is ready, or will be after the ring's next visit.
    pub(crate) fn has_ready(&self) -> bool {
        !self.run_queue.borrow().is_empty() || !self.deferred.borrow().is_empty()
    }

    /// Wakes `waker` after the shard's next visit to the ring.
    pub(crate) fn defer(&self, waker: &Waker) {
        self.deferred.borrow_mut().push(waker.clone());
    }

    /// Wakes the tasks deferred before the ring's last visit.
    pub(crate) fn wake_deferred(&self) {
        if self.deferred.borrow().is_empty() {
            return;
        }
        // Taken out first: a wake runs no task code, but the list must not
        // be borrowed while wakers are dropped. Put back empty afterwards,
        // so a shard whose tasks yield every turn keeps one allocation.
        let mut deferred = std::mem::take(&mut *self.deferred.borrow_mut());
        for waker in deferred.drain(..) {
            waker.wake();
        }
        let mut list = self.deferred.borrow_mut();
        if list.is_empty() {
            *list = deferred;
        }
    }

    pub(crate) fn alive(&self) -> usize {
        self.tasks.borrow().len()
    }

    /// Moves tasks woken from other threads into the run queue.
    pub(crate) fn drain_remote(&self, remote: &Remote) {
        let mut queue = self.run_queue.borrow_mut();
        while let Some(task) = remote.pop() {
            queue.push_back(task);
        }
    }

    /// Polls one task.
    pub(crate) fn run(&self, task: TaskRef, counters: &Counters) {
        let cell = {
            let mut tasks = self.tasks.borrow_mut();
            let Some(slot) = tasks.get_mut(task.key as usize) else {
                return;
            };
            if slot.task.header().task.gen != task.gen {
                return; // stale wake of a finished task whose key was reused
            }
            if slot.aborted {
                let slot = tasks.remove(task.key as usize);
                drop(tasks);
                Counters::decr(&counters.tasks_alive);
                drop(slot);
                return;
            }
            Arc::as_ptr(&slot.task)
        };
        // SAFETY: the slot's `Arc` keeps the cell alive: the slot is
        // removed only below, after the poll (`abort` only marks it). A
        // spawn during the poll may move the slab's entries, but not the
        // cell they point to.
        let cell = unsafe { &*cell };
        // The slab is not borrowed during the poll, so the task may spawn,
        // abort or wake others (even itself).
        cell.header().queued.store(false, Ordering::Release);
        coop::reset();
        // SAFETY: on the home shard (the executor is shard-local), and not
        // reentrant: a task is polled only here, one at a time, and its slot
        // (whose drop drops the future) is removed only below; the slot's
        // `Arc<TaskCell<_>>` is the one `poll` borrows its waker from.
        let done = unsafe { cell.poll() }.is_ready();
        let mut tasks = self.tasks.borrow_mut();
        let slot = &mut tasks[task.key as usize];
        if done || slot.aborted {
            let slot = tasks.remove(task.key as usize);
            drop(tasks);
            Counters::decr(&counters.tasks_alive);
            drop(slot);
        }
    }

    /// Requests that a task be dropped at its next turn.
    pub(crate) fn abort(&self, task: TaskRef) {
        let mut tasks = self.tasks.borrow_mut();
        if let Some(slot) = tasks.get_mut(task.key as usize) {
            if slot.task.header().task.gen == task.gen && !slot.aborted {
                slot.aborted = true;
                let cell = slot.task.clone();
                drop(tasks);
                cell.header().schedule();
            }
        }
    }

    /// Drops every task (teardown). Futures dropped here may spawn or wake;
    /// those land in a fresh slab, which is emptied again.
    pub(crate) fn drop_all(&self, counters: &Counters) {
        for _ in 0..16 {
            let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
            if tasks.is_empty() {
                break;
            }
            for (_, slot) in tasks {
                Counters::decr(&counters.tasks_alive);
                drop(slot);
            }
        }
        self.run_queue.borrow_mut().clear();
    }
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("tasks", &self.tasks.borrow().len())
            .field("ready", &self.run_queue.borrow().len())
            .finish()
    }
}

/// A detached task's future: a panic ends the task (the panic hook has
/// reported it) and nothing else.
struct Detached<F>(F);

impl<F: Future<Output = ()>> Future for Detached<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `Detached` never moves its field: the pin projects
        // structurally, and no `&mut F` is handed out unpinned.
        let future = unsafe { self.map_unchecked_mut(|d| &mut d.0) };
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(poll) => poll,
            Err(_) => Poll::Ready(()),
        }
    }
}
