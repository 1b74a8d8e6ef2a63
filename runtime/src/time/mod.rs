//! Timers: [`sleep`], [`sleep_until`], [`timeout`] and [`interval`], plus
//! [`precise_sleep_until`] for microsecond timing.
//!
//! Every shard keeps one hierarchical timing wheel (millisecond resolution),
//! so a timer costs one slab entry and a few pointer updates to insert or
//! cancel — cheap enough for a deadline on every one of 100,000 connections.
//! The wheel needs no operation in the ring: when the shard has nothing to
//! run it waits on the ring with a timeout equal to the next deadline.
//! Timers never fire early; they fire within about a millisecond after their
//! deadline when the shard is idle.

pub(crate) mod wheel;

use crate::shard::Shard;
use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Waits until `duration` has passed.
///
/// # Panics
///
/// The returned future panics if polled outside a shard.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// shardio::block_on(async {
///     let start = Instant::now();
///     shardio::time::sleep(Duration::from_millis(20)).await;
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// })
/// .unwrap();
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(Instant::now() + duration)
}

/// Waits until `deadline`.
///
/// # Panics
///
/// The returned future panics if polled outside a shard.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        key: None,
        shard: Shard::current().ok(),
    }
}

/// The instant the shard's current loop turn began: one clock read that
/// every task run in the turn shares, where [`Instant::now`] is a read of
/// its own. Outside a shard, `Instant::now()`.
///
/// It is never later than `Instant::now()`, and earlier by no more than the
/// time the turn has spent running tasks so far. That makes it the clock
/// for coarse deadlines taken often, such as a connection's idle or write
/// timeout in seconds: a deadline it starts may pass that much early. Time
/// a measurement with `Instant::now()`.
///
/// # Examples
///
/// ```
/// use std::time::Instant;
/// shardio::block_on(async {
///     let turn = shardio::time::coarse_now();
///     assert!(turn <= Instant::now());
/// })
/// .unwrap();
/// ```
pub fn coarse_now() -> Instant {
    Shard::with_current(|s| s.clock.turn.get()).unwrap_or_else(Instant::now)
}

/// Waits until `deadline` with the kernel's timer precision (microseconds)
/// instead of the wheel's millisecond: one `IORING_OP_TIMEOUT` in the ring.
///
/// For code whose timing is the measurement, such as a load generator that
/// sends each request at its scheduled instant; deadlines for connections
/// belong on the wheel ([`sleep_until`]), which costs no operation. Dropping
/// the future cancels the operation.
///
/// # Errors
///
/// Fails outside a shard, or if the ring refuses the operation.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// shardio::block_on(async {
///     let deadline = Instant::now() + Duration::from_micros(300);
///     shardio::time::precise_sleep_until(deadline).await.unwrap();
///     assert!(Instant::now() >= deadline);
/// })
/// .unwrap();
/// ```
pub async fn precise_sleep_until(deadline: Instant) -> std::io::Result<()> {
    let now = Instant::now();
    if deadline <= now {
        return Ok(());
    }
    crate::ops::timeout(deadline - now)?.await
}

/// Future returned by [`sleep`] and [`sleep_until`]. Dropping it cancels the
/// timer.
pub struct Sleep {
    deadline: Instant,
    /// The wheel entry, once registered.
    key: Option<usize>,
    shard: Option<Rc<Shard>>,
}

impl Sleep {
    /// The instant this sleep completes at.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline (re-arming a completed sleep).
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
    }

    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    fn cancel(&mut self) {
        if let (Some(key), Some(shard)) = (self.key.take(), &self.shard) {
            shard.timers.borrow_mut().remove(key);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let shard = this
            .shard
            .as_ref()
            .expect("shardio::time::Sleep polled outside a shard");
        let fired = match this.key {
            None => {
                // No clock read: a deadline whose tick the wheel has
                // already reached fires at once, any other when the wheel
                // gets there (never early, as the wheel's time never runs
                // ahead of the clock).
                let tick = shard.clock.deadline_tick(this.deadline);
                let mut timers = shard.timers.borrow_mut();
                let key = timers.insert(tick, cx.waker().clone());
                if timers.is_fired(key) {
                    timers.remove(key);
                    true
                } else {
                    this.key = Some(key);
                    false
                }
            }
            Some(key) => {
                let mut timers = shard.timers.borrow_mut();
                if timers.is_fired(key) {
                    timers.remove(key);
                    this.key = None;
                    // Fired means at least `deadline` has passed; make later
                    // polls answer from the clock.
                    true
                } else {
                    timers.set_waker(key, cx.waker());
                    false
                }
            }
        };
        if fired && crate::executor::coop::consume(cx) {
            this.deadline = this.deadline.min(Instant::now());
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.key.is_some())
            .finish()
    }
}

/// The error of a [`timeout`] whose deadline passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}

/// Runs `future` for at most `duration`, counted from this call. On
/// timeout the future is dropped — any operation it had in flight is
/// cancelled by the shard — and `Err(Elapsed)` is returned.
///
/// # Panics
///
/// The returned future panics if polled outside a shard.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// shardio::block_on(async {
///     let slow = shardio::time::sleep(Duration::from_secs(10));
///     let r = shardio::time::timeout(Duration::from_millis(10), slow).await;
///     assert!(r.is_err());
/// })
/// .unwrap();
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    timeout_at(Instant::now() + duration, future)
}

/// Runs `future` until `deadline` at the latest; see [`timeout`].
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        sleep: sleep_until(deadline),
    }
}

pin_project_lite::pin_project! {
    /// Future returned by [`timeout`] and [`timeout_at`]: the future it
    /// runs and the [`Sleep`] for its deadline, side by side (no larger
    /// than the two).
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
    }
}

impl<F> Timeout<F> {
    /// The instant the future is given up at.
    pub fn deadline(&self) -> Instant {
        self.sleep.deadline()
    }

    /// The future, no longer bounded by the deadline.
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("deadline", &self.sleep.deadline())
            .finish_non_exhaustive()
    }
}

/// A periodic timer: the first [`tick`](Interval::tick) completes at once,
/// then one every `period`. Ticks missed because the shard was busy are
/// skipped, not bunched up.
///
/// # Panics
///
/// Panics if `period` is zero.
pub fn interval(period: Duration) -> Interval {
    assert!(!period.is_zero(), "interval period must be non-zero");
    let now = Instant::now();
    Interval {
        period,
        next: now,
        sleep: sleep_until(now),
    }
}

/// A periodic timer made by [`interval`].
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    next: Instant,
    sleep: Sleep,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for.
    pub async fn tick(&mut self) -> Instant {
        self.sleep.reset(self.next);
        (&mut self.sleep).await;
        let scheduled = self.next;
        let now = Instant::now();
        self.next += self.period;
        if self.next <= now {
            // Behind by a period or more: skip to the next tick after now.
            let behind = now - self.next;
            let periods = (behind.as_nanos() / self.period.as_nanos()) as u32 + 1;
            self.next += self.period * periods;
        }
        scheduled
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}

/// Converts instants into wheel ticks (milliseconds since the shard started).
#[derive(Debug)]
pub(crate) struct Clock {
    start: Instant,
    /// When the shard's current loop turn began ([`coarse_now`]).
    turn: Cell<Instant>,
}

impl Clock {
    pub(crate) fn new() -> Clock {
        let start = Instant::now();
        Clock {
            start,
            turn: Cell::new(start),
        }
    }

    /// Records the clock read that starts a loop turn.
    pub(crate) fn start_turn(&self, now: Instant) {
        self.turn.set(now);
    }

    /// The tick at or after `deadline` (rounded up: never early).
    pub(crate) fn deadline_tick(&self, deadline: Instant) -> u64 {
        let d = deadline.saturating_duration_since(self.start);
        let ms = d.as_millis() as u64;
        if d > Duration::from_millis(ms) {
            ms + 1
        } else {
            ms
        }
    }

    /// The tick `now` lies in (rounded down).
    pub(crate) fn now_tick(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.start).as_millis() as u64
    }

    /// How long from `now` until `tick` begins.
    pub(crate) fn until(&self, tick: u64, now: Instant) -> Duration {
        (self.start + Duration::from_millis(tick)).saturating_duration_since(now)
    }
}
