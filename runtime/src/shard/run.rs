//! The shard's loop: run ready tasks, fire timers, submit and reap.

use super::{Shard, ShardInfo, CURRENT};
use crate::buf::ring::BufRings;
use crate::driver::{Driver, RingConfig};
use crate::executor::{coop, Executor, Remote, TaskRef};
use crate::mesh::Cluster;
use crate::runtime::DEFAULT_MESSAGE_CAPACITY;
use crate::shutdown::ShutdownState;
use crate::stats::{Counters, ShardStats};
use crate::time::wheel::Wheel;
use crate::time::Clock;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Tasks polled between two visits to the ring, so a flood of ready tasks
/// cannot delay completions indefinitely.
const TASKS_PER_TICK: usize = 256;

/// How long teardown waits for the kernel to answer cancellations.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct ShardConfig {
    pub(crate) id: usize,
    pub(crate) count: usize,
    pub(crate) core: Option<usize>,
    pub(crate) ring: RingConfig,
    pub(crate) shutdown: Option<Arc<ShutdownState>>,
    pub(crate) cluster: Arc<Cluster>,
}

/// How a shard's main future ended.
pub(crate) enum Exit<T> {
    /// It returned this output.
    Returned(T),
    /// Shutdown was requested: it was dropped.
    ShutDown,
}

/// Runs `future` as the main future of a new shard on this thread, then
/// tears the shard down (dropping every remaining task, cancelling and
/// reaping every operation). `on_stop` sees the final counters.
pub(crate) fn run_shard<F: Future>(
    config: ShardConfig,
    make: impl FnOnce(ShardInfo) -> F,
    on_stop: impl FnOnce(ShardInfo, ShardStats),
) -> io::Result<Exit<F::Output>> {
    if Shard::with_current(|_| ()).is_some() {
        return Err(io::Error::other(
            "a shardio shard is already running on this thread (nested block_on)",
        ));
    }
    let remote = Arc::new(Remote::new()?);
    let driver = Driver::new(&config.ring, remote.eventfd())?;
    let info = ShardInfo {
        id: config.id,
        count: config.count,
        core: config.core,
        ring_mode: driver.mode(),
    };
    if let Some(state) = &config.shutdown {
        state.register(remote.clone());
    }
    if let Some(fd) = driver.msg_ring_fd().filter(|_| config.ring.msg_ring) {
        remote.enable_msg_ring(fd)?;
    }
    config.cluster.join(config.id, remote.clone());
    let shard = Rc::new(Shard {
        info,
        driver: RefCell::new(driver),
        executor: Executor::new(),
        timers: RefCell::new(Wheel::new()),
        clock: Clock::new(),
        counters: Counters::new(),
        remote,
        shutdown: config.shutdown,
        shutting_down: Cell::new(false),
        shutdown_waiters: RefCell::new(Vec::new()),
        buf_rings: RefCell::new(BufRings::new(config.ring.provided_buffers)),
        cluster: config.cluster,
    });
    CURRENT.with(|c| *c.borrow_mut() = Some(shard.clone()));
    // Tears down on every exit path, unwinding included.
    let teardown = Teardown {
        shard: shard.clone(),
        on_stop: Some(on_stop),
    };
    let result = drive(&shard, make(info));
    drop(teardown);
    result
}

struct Teardown<S: FnOnce(ShardInfo, ShardStats)> {
    shard: Rc<Shard>,
    on_stop: Option<S>,
}

impl<S: FnOnce(ShardInfo, ShardStats)> Drop for Teardown<S> {
    fn drop(&mut self) {
        let shard = &self.shard;
        shard.begin_shutdown();
        shard.cluster.leave(shard.info.id);
        // Dropping the tasks orphans their ops into the table...
        shard.executor.drop_all(&shard.counters);
        // ...and draining cancels and reaps them.
        let quiet = shard
            .driver
            .borrow_mut()
            .drain(Instant::now() + DRAIN_TIMEOUT, &shard.counters);
        // No receive is left, so the default buffer ring can go.
        let default_ring = shard.buf_rings.borrow_mut().take_default();
        drop(default_ring);
        shard.retire_buf_rings();
        debug_assert!(
            quiet,
            "io_uring did not answer cancellations within {DRAIN_TIMEOUT:?}"
        );
        if let Some(on_stop) = self.on_stop.take() {
            on_stop(shard.info, shard.stats());
        }
        CURRENT.with(|c| c.borrow_mut().take());
    }
}

fn drive<F: Future>(shard: &Rc<Shard>, future: F) -> io::Result<Exit<F::Output>> {
    let mut main = pin!(Some(future));
    let main_waker = shard.executor.main_waker(shard);
    shard
        .executor
        .run_queue
        .borrow_mut()
        .push_back(TaskRef::MAIN);
    let mut drain_deadline: Option<Instant> = None;
    loop {
        // 0. The clock, once a turn: timers due by now fire, and the tasks
        //    this turn runs share the read (`time::coarse_now`).
        let now = Instant::now();
        shard.clock.start_turn(now);
        shard.timers.borrow_mut().advance(shard.clock.now_tick(now));
        // 1. Ready tasks, a bounded batch, behind the tasks that yielded
        //    before the ring's last visit.
        shard.executor.wake_deferred();
        for _ in 0..TASKS_PER_TICK {
            let Some(task) = shard.executor.pop() else {
                break;
            };
            if task != TaskRef::MAIN {
                shard.executor.run(task, &shard.counters);
                continue;
            }
            shard.executor.main_polled();
            if let Some(fut) = main.as_mut().as_pin_mut() {
                coop::reset();
                if let Poll::Ready(out) = fut.poll(&mut Context::from_waker(&main_waker)) {
                    return Ok(Exit::Returned(out));
                }
            }
        }
        // 2. Tasks woken from other threads, closures sent by other shards.
        shard.executor.drain_remote(&shard.remote);
        shard.cluster.run_jobs(shard.info.id, &shard.counters);
        // 3. Shutdown: drop the main future (the accept loop), let the other
        //    tasks finish until the grace deadline.
        if drain_deadline.is_none() {
            if let Some(state) = shard.shutdown.as_ref().filter(|s| s.is_requested()) {
                shard.begin_shutdown();
                main.set(None);
                drain_deadline = Some(now + state.grace());
            }
        }
        if let Some(deadline) = drain_deadline {
            if shard.executor.alive() == 0 || now >= deadline {
                return Ok(Exit::ShutDown);
            }
        }
        // 4. Buffer rings nobody uses any more.
        shard.retire_buf_rings();
        // 5. The ring: submit, and block only when there is nothing to run.
        let mut driver = shard.driver.borrow_mut();
        if shard.executor.has_ready() || !shard.remote.prepare_sleep() {
            driver.submit(&shard.counters)?;
            continue;
        }
        // `sleeping` is announced: a job queued from now on rings us; one
        // queued before is seen here.
        if shard.cluster.jobs.has_incoming(shard.info.id) {
            shard.remote.woke();
            driver.submit(&shard.counters)?;
            continue;
        }
        // Blocking: the wait ends at the next deadline, if any, measured
        // from the clock now rather than from the start of the turn.
        let next_tick = shard.timers.borrow().next_deadline();
        let timeout = if next_tick.is_none() && drain_deadline.is_none() {
            None
        } else {
            let now = Instant::now();
            let next_timer = next_tick.map(|t| shard.clock.until(t, now));
            match (next_timer, drain_deadline) {
                (Some(t), Some(d)) => Some(t.min(d.saturating_duration_since(now))),
                (t, d) => t.or_else(|| d.map(|d| d.saturating_duration_since(now))),
            }
        };
        let waited = driver.wait(timeout, &shard.counters);
        shard.remote.woke();
        waited?;
    }
}

/// Runs a future to completion on a new shard on the calling thread.
///
/// This is the runtime for tests and small tools: one shard, not pinned,
/// with a 256-entry ring. Tasks spawned by the future that are still running
/// when it returns are dropped, and their operations cancelled, before
/// `block_on` returns.
///
/// # Errors
///
/// Fails if io_uring cannot be set up (the error names the cause: disabled by
/// sysctl, blocked by seccomp, kernel too old, RLIMIT_MEMLOCK), if a shard is
/// already running on this thread, or if the ring fails while running.
///
/// # Examples
///
/// ```
/// let answer = shardio::block_on(async { 6 * 7 }).unwrap();
/// assert_eq!(answer, 42);
/// ```
pub fn block_on<F: Future>(future: F) -> io::Result<F::Output> {
    let config = ShardConfig {
        id: 0,
        count: 1,
        core: None,
        ring: RingConfig {
            entries: 256,
            provided_buffers: crate::runtime::DEFAULT_PROVIDED_BUFFERS,
            msg_ring: true,
        },
        shutdown: None,
        cluster: Arc::new(Cluster::new(1, DEFAULT_MESSAGE_CAPACITY)),
    };
    match run_shard(config, |_| future, |_, _| {})? {
        Exit::Returned(out) => Ok(out),
        Exit::ShutDown => unreachable!("block_on has no shutdown handle"),
    }
}
