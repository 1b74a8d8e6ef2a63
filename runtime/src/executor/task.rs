//! Task storage, the run queue and the waker.

use super::join::{JoinHandle, JoinInner, RunToJoin};
use super::{coop, Remote};
use crate::shard::Shard;
use crate::stats::Counters;
use slab::Slab;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Names a task: slab key plus generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TaskRef {
    key: usize,
    gen: u32,
}

impl TaskRef {
    /// The shard's main future (the one `block_on` drives).
    pub(crate) const MAIN: TaskRef = TaskRef {
        key: usize::MAX,
        gen: 0,
    };
}

type BoxFuture = Pin<Box<dyn Future<Output = ()>>>;

struct TaskSlot {
    /// `None` while the task is being polled.
    future: Option<BoxFuture>,
    waker: Waker,
    /// The same waker, typed, to clear its `queued` flag.
    handle: Arc<TaskWaker>,
    gen: u32,
    aborted: bool,
}

/// The waker of one task. `Send + Sync`: see the module invariants.
pub(crate) struct TaskWaker {
    shard_uid: u64,
    task: TaskRef,
    queued: AtomicBool,
    remote: Arc<Remote>,
}

impl TaskWaker {
    pub(crate) fn new(shard_uid: u64, task: TaskRef, remote: Arc<Remote>) -> TaskWaker {
        TaskWaker {
            shard_uid,
            task,
            // A new task is scheduled by whoever creates it.
            queued: AtomicBool::new(true),
            remote,
        }
    }
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let task = self.task;
        let local = Shard::with_current(|shard| {
            if shard.uid == self.shard_uid {
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

pub(crate) struct Executor {
    tasks: RefCell<Slab<TaskSlot>>,
    pub(crate) run_queue: RefCell<VecDeque<TaskRef>>,
    next_gen: Cell<u32>,
    main_waker: RefCell<Option<(Waker, Arc<TaskWaker>)>>,
}

impl Executor {
    pub(crate) fn new() -> Executor {
        Executor {
            tasks: RefCell::new(Slab::new()),
            run_queue: RefCell::new(VecDeque::new()),
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
        let task = self.insert(shard, Box::pin(RunToJoin::new(future, join.clone())));
        JoinHandle::new(join, task)
    }

    /// Spawns a task whose output nobody awaits: no join state is kept.
    pub(crate) fn spawn_detached<F>(&self, shard: &Shard, future: F)
    where
        F: Future<Output = ()> + 'static,
    {
        self.insert(shard, Box::pin(Detached(future)));
    }

    fn insert(&self, shard: &Shard, future: Pin<Box<dyn Future<Output = ()>>>) -> TaskRef {
        let gen = self.next_gen.get().wrapping_add(1);
        self.next_gen.set(gen);
        let mut tasks = self.tasks.borrow_mut();
        let entry = tasks.vacant_entry();
        let task = TaskRef {
            key: entry.key(),
            gen,
        };
        let handle = Arc::new(TaskWaker::new(shard.uid, task, shard.remote.clone()));
        entry.insert(TaskSlot {
            future: Some(future),
            waker: Waker::from(handle.clone()),
            handle,
            gen,
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
            let tw = Arc::new(TaskWaker::new(
                shard.uid,
                TaskRef::MAIN,
                shard.remote.clone(),
            ));
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

    pub(crate) fn has_ready(&self) -> bool {
        !self.run_queue.borrow().is_empty()
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
        let (mut future, waker) = {
            let mut tasks = self.tasks.borrow_mut();
            let Some(slot) = tasks.get_mut(task.key) else {
                return;
            };
            if slot.gen != task.gen {
                return; // stale wake of a finished task whose key was reused
            }
            if slot.aborted {
                let slot = tasks.remove(task.key);
                drop(tasks);
                Counters::decr(&counters.tasks_alive);
                drop(slot);
                return;
            }
            let Some(future) = slot.future.take() else {
                return;
            };
            slot.handle.queued.store(false, Ordering::Release);
            (future, slot.waker.clone())
        };
        coop::reset();
        let done = future
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_ready();
        let mut tasks = self.tasks.borrow_mut();
        let slot = &mut tasks[task.key];
        if done || slot.aborted {
            let slot = tasks.remove(task.key);
            drop(tasks);
            Counters::decr(&counters.tasks_alive);
            drop(slot);
            drop(future);
        } else {
            slot.future = Some(future);
        }
    }

    /// Requests that a task be dropped at its next turn.
    pub(crate) fn abort(&self, task: TaskRef) {
        let mut tasks = self.tasks.borrow_mut();
        if let Some(slot) = tasks.get_mut(task.key) {
            if slot.gen == task.gen && !slot.aborted {
                slot.aborted = true;
                let waker = slot.waker.clone();
                drop(tasks);
                waker.wake();
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
