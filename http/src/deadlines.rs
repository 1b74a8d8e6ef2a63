//! The connections waiting on their client, and their deadlines: for the
//! next request (the idle timeout), or for a send to drain (the write
//! timeout).
//!
//! A waiting connection registers here rather than on the runtime's timer
//! wheel: one entry holds both what a drain wakes and the deadline, and one
//! sweeper per server, ticking at an eighth of the shorter timeout (at most
//! once a second), wakes the connections whose deadline passed. A
//! connection therefore gives up between its deadline and one tick later.
//! An idle connection costs one small entry instead of a timer and a
//! waiter, and a send costs an entry put in and taken out (about 100
//! instructions), where a timer on the wheel cost about 450.

use slab::Slab;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Keeps deadlines to within this much, at most.
const MAX_TICK: Duration = Duration::from_secs(1);
const MIN_TICK: Duration = Duration::from_millis(5);

struct Entry {
    waker: Waker,
    /// Milliseconds after the table's epoch, plus one; `EXPIRED` once the
    /// sweeper has passed it. (Not an `Instant`: an idle connection's entry
    /// is kept to 24 bytes.)
    deadline: u64,
}

const EXPIRED: u64 = 0;

pub(crate) struct Deadlines {
    entries: RefCell<Slab<Entry>>,
    epoch: Instant,
    tick: Duration,
    /// The last turn a deadline was taken in, in the entries' unit,
    /// rounded up: the connections a turn serves share one conversion.
    turn: Cell<(Instant, u64)>,
}

impl Deadlines {
    /// A table for the idle and write timeouts: swept every eighth of the
    /// shorter one.
    pub(crate) fn new(idle: Duration, write: Duration) -> Deadlines {
        let epoch = Instant::now();
        Deadlines {
            entries: RefCell::new(Slab::new()),
            epoch,
            tick: (idle.min(write) / 8).clamp(MIN_TICK, MAX_TICK),
            turn: Cell::new((epoch, 1)),
        }
    }

    /// `at` in the entries' unit, rounded down; never `EXPIRED`.
    fn millis(&self, at: Instant) -> u64 {
        let ms = at.saturating_duration_since(self.epoch).as_millis();
        u64::try_from(ms).unwrap_or(u64::MAX - 1) + 1
    }

    /// Adds a connection that waits for `timeout` from the start of this
    /// turn ([`shardio::time::coarse_now`]); returns its key.
    pub(crate) fn insert(&self, waker: &Waker, timeout: Duration) -> usize {
        let deadline = self.deadline(shardio::time::coarse_now(), timeout);
        self.add(waker, deadline)
    }

    /// `timeout` after `now`, in the entries' unit, rounded up so that the
    /// sweeper never gives up early.
    fn deadline(&self, now: Instant, timeout: Duration) -> u64 {
        let (at, ms) = self.turn.get();
        let now = if at == now {
            ms
        } else {
            let ms = self.millis(now + Duration::from_nanos(999_999));
            self.turn.set((now, ms));
            ms
        };
        let ms = u64::from(timeout.subsec_nanos().div_ceil(1_000_000));
        now.saturating_add(timeout.as_secs().saturating_mul(1000).saturating_add(ms))
    }

    fn add(&self, waker: &Waker, deadline: u64) -> usize {
        self.entries.borrow_mut().insert(Entry {
            waker: waker.clone(),
            deadline,
        })
    }

    /// Whether the deadline of `key` has passed; keeps its waker current.
    pub(crate) fn poll_expired(&self, key: usize, waker: &Waker) -> bool {
        let mut entries = self.entries.borrow_mut();
        let entry = &mut entries[key];
        if !entry.waker.will_wake(waker) {
            entry.waker = waker.clone();
        }
        entry.deadline == EXPIRED
    }

    pub(crate) fn remove(&self, key: usize) {
        self.entries.borrow_mut().remove(key);
    }

    /// Wakes every waiting connection (the server is draining: an idle one
    /// sees that and closes; a sending one goes on waiting).
    pub(crate) fn wake_all(&self) {
        let wakers: Vec<Waker> = self
            .entries
            .borrow()
            .iter()
            .map(|(_, e)| e.waker.clone())
            .collect();
        for w in wakers {
            w.wake();
        }
    }

    /// Marks and wakes the connections whose deadline is past `now`.
    fn expire(&self, now: Instant) {
        let now = self.millis(now);
        let mut due = Vec::new();
        for (_, e) in self.entries.borrow_mut().iter_mut() {
            if e.deadline != EXPIRED && e.deadline <= now {
                e.deadline = EXPIRED;
                due.push(e.waker.clone());
            }
        }
        for w in due {
            w.wake();
        }
    }

    /// Expires deadlines once a tick until `stop` says so.
    pub(crate) async fn sweep(&self, stop: impl Fn() -> bool) {
        while !stop() {
            shardio::time::sleep(self.tick).await;
            self.expire(Instant::now());
        }
    }

    /// `future`, given up (`None`) if it is still pending `timeout` after
    /// this turn began. Its entry is made the first time it is pending.
    pub(crate) fn within<F: Future + Unpin>(&self, timeout: Duration, future: F) -> Within<'_, F> {
        Within {
            table: self,
            timeout,
            key: None,
            future,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.borrow().len()
    }
}

/// Future returned by [`Deadlines::within`].
pub(crate) struct Within<'a, F> {
    table: &'a Deadlines,
    timeout: Duration,
    key: Option<usize>,
    future: F,
}

impl<F: Future + Unpin> Future for Within<'_, F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        let this = &mut *self;
        if let Poll::Ready(out) = Pin::new(&mut this.future).poll(cx) {
            return Poll::Ready(Some(out));
        }
        match this.key {
            None => this.key = Some(this.table.insert(cx.waker(), this.timeout)),
            Some(key) => {
                if this.table.poll_expired(key, cx.waker()) {
                    return Poll::Ready(None);
                }
            }
        }
        Poll::Pending
    }
}

impl<F> Drop for Within<'_, F> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.table.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn tick_is_an_eighth_of_the_shorter_timeout_within_bounds() {
        let (long, short) = (Duration::from_secs(60), Duration::from_millis(800));
        assert_eq!(Deadlines::new(long, long).tick, MAX_TICK);
        // Whichever of the two is shorter sets it.
        assert_eq!(Deadlines::new(short, long).tick, Duration::from_millis(100));
        assert_eq!(Deadlines::new(long, short).tick, Duration::from_millis(100));
        let tiny = Duration::from_millis(1);
        assert_eq!(Deadlines::new(tiny, long).tick, MIN_TICK);
    }

    #[test]
    fn expire_wakes_only_entries_past_their_deadline_and_only_once() {
        let t = Deadlines::new(Duration::from_secs(1), Duration::from_secs(1));
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let now = t.epoch;
        let early = t.add(&waker, t.deadline(now, Duration::from_micros(4_500)));
        let late = t.add(&waker, t.deadline(now, Duration::from_secs(10)));
        // Never early: 4 ms in, the first deadline has not passed.
        t.expire(now + Duration::from_millis(4));
        assert_eq!(count.0.load(Ordering::Relaxed), 0);
        assert!(!t.poll_expired(early, &waker));
        t.expire(now + Duration::from_millis(5));
        assert_eq!(count.0.load(Ordering::Relaxed), 1);
        assert!(t.poll_expired(early, &waker));
        assert!(!t.poll_expired(late, &waker));
        t.expire(now + Duration::from_millis(6));
        assert_eq!(count.0.load(Ordering::Relaxed), 1, "woken twice");
        t.wake_all();
        assert_eq!(count.0.load(Ordering::Relaxed), 3);
        t.remove(early);
        t.remove(late);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn one_turn_shares_a_conversion_and_each_timeout_rounds_up() {
        let t = Deadlines::new(Duration::from_secs(1), Duration::from_secs(1));
        let turn = t.epoch + Duration::from_micros(2_300);
        // 2.3 ms rounds up to 3, plus one (never `EXPIRED`).
        assert_eq!(t.deadline(turn, Duration::from_millis(10)), 4 + 10);
        assert_eq!(t.deadline(turn, Duration::from_micros(1)), 4 + 1);
        assert_eq!(t.turn.get(), (turn, 4));
        let next = turn + Duration::from_millis(1);
        assert_eq!(t.deadline(next, Duration::ZERO), 5);
    }

    #[test]
    fn within_gives_up_only_once_its_deadline_is_swept() {
        let t = Deadlines::new(Duration::from_secs(1), Duration::from_secs(1));
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);

        let mut ready = t.within(Duration::ZERO, std::future::ready(7));
        assert_eq!(Pin::new(&mut ready).poll(&mut cx), Poll::Ready(Some(7)));
        assert_eq!(t.len(), 0, "a future ready at once needs no entry");

        let mut stuck = t.within(Duration::ZERO, std::future::pending::<()>());
        assert_eq!(Pin::new(&mut stuck).poll(&mut cx), Poll::Pending);
        assert_eq!(t.len(), 1);
        // A drain's wake is not a deadline.
        t.wake_all();
        assert_eq!(Pin::new(&mut stuck).poll(&mut cx), Poll::Pending);
        t.expire(Instant::now() + Duration::from_millis(2));
        assert_eq!(count.0.load(Ordering::Relaxed), 2, "drained, then swept");
        assert_eq!(Pin::new(&mut stuck).poll(&mut cx), Poll::Ready(None));
        drop(stuck);
        assert_eq!(t.len(), 0, "the entry goes with the future");
    }
}
