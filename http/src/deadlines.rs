//! The connections waiting on their client, and their deadlines: for the
//! next request (the idle timeout), or for a send to drain (the write
//! timeout).
//!
//! A waiting connection registers here rather than on the runtime's timer
//! wheel: one entry holds both what a drain wakes and the deadline, and one
//! sweeper per server, ticking at an eighth of the shorter timeout (at most
//! once a second), wakes the connections whose deadline passed. A
//! connection therefore gives up between its deadline and one tick later.
//! A connection has one entry, made at its first wait and kept until the
//! connection goes: each wait (for a request, for a send) re-arms it with
//! its own deadline, a store into the entry, rather than putting an entry
//! in and taking it out again (about 100 instructions a wait) or setting a
//! timer on the wheel (about 450). An idle connection costs one small
//! entry instead of a timer and a waiter. A deadline left armed after its
//! wait ended (the wait that follows re-arms it first) can at most wake
//! a busy connection once for nothing.

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

/// Where a connection's entry is, once it has one ([`Deadlines::arm`]).
/// The connection waits on it for one thing at a time: each wait arms it
/// afresh.
#[derive(Debug, Default)]
pub(crate) struct EntryKey(Cell<Option<u32>>);

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

    /// How often the sweeper passes: a deadline is kept to within this.
    pub(crate) fn tick(&self) -> Duration {
        self.tick
    }

    /// Arms `key`'s entry, made now if it has none: it expires `timeout`
    /// from the start of this turn ([`shardio::time::coarse_now`]) and
    /// wakes `waker`.
    pub(crate) fn arm(&self, key: &EntryKey, waker: &Waker, timeout: Duration) {
        let deadline = self.deadline(shardio::time::coarse_now(), timeout);
        match key.0.get() {
            Some(at) => {
                let mut entries = self.entries.borrow_mut();
                let entry = &mut entries[at as usize];
                entry.deadline = deadline;
                if !entry.waker.will_wake(waker) {
                    entry.waker = waker.clone();
                }
            }
            None => {
                let at = self.add(waker, deadline);
                key.0
                    .set(Some(u32::try_from(at).expect("under 2^32 connections")));
            }
        }
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

    /// Whether the deadline `key` was last armed with has passed; keeps
    /// its waker current. An entry never armed has not expired.
    pub(crate) fn expired(&self, key: &EntryKey, waker: &Waker) -> bool {
        let Some(at) = key.0.get() else {
            return false;
        };
        let mut entries = self.entries.borrow_mut();
        let entry = &mut entries[at as usize];
        if !entry.waker.will_wake(waker) {
            entry.waker = waker.clone();
        }
        entry.deadline == EXPIRED
    }

    /// Removes `key`'s entry, if it has one: its connection is gone.
    pub(crate) fn forget(&self, key: &EntryKey) {
        if let Some(at) = key.0.take() {
            self.entries.borrow_mut().remove(at as usize);
        }
    }

    /// Wakes every connection with an entry (the server is draining: an
    /// idle one sees that and closes; a sending or busy one goes on).
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
    /// this turn began. `key`'s entry is armed the first time it is
    /// pending.
    pub(crate) fn within<'a, F: Future + Unpin>(
        &'a self,
        key: &'a EntryKey,
        timeout: Duration,
        future: F,
    ) -> Within<'a, F> {
        Within {
            table: self,
            key,
            timeout,
            armed: false,
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
    key: &'a EntryKey,
    timeout: Duration,
    armed: bool,
    future: F,
}

impl<F: Future + Unpin> Future for Within<'_, F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        let this = &mut *self;
        if let Poll::Ready(out) = Pin::new(&mut this.future).poll(cx) {
            return Poll::Ready(Some(out));
        }
        if !this.armed {
            this.table.arm(this.key, cx.waker(), this.timeout);
            this.armed = true;
        } else if this.table.expired(this.key, cx.waker()) {
            return Poll::Ready(None);
        }
        Poll::Pending
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

    /// A key to the entry just added, as [`Deadlines::arm`] leaves it.
    fn key_of(at: usize) -> EntryKey {
        EntryKey(Cell::new(Some(at as u32)))
    }

    #[test]
    fn expire_wakes_only_entries_past_their_deadline_and_only_once() {
        let t = Deadlines::new(Duration::from_secs(1), Duration::from_secs(1));
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let now = t.epoch;
        let early = key_of(t.add(&waker, t.deadline(now, Duration::from_micros(4_500))));
        let late = key_of(t.add(&waker, t.deadline(now, Duration::from_secs(10))));
        // Never early: 4 ms in, the first deadline has not passed.
        t.expire(now + Duration::from_millis(4));
        assert_eq!(count.0.load(Ordering::Relaxed), 0);
        assert!(!t.expired(&early, &waker));
        t.expire(now + Duration::from_millis(5));
        assert_eq!(count.0.load(Ordering::Relaxed), 1);
        assert!(t.expired(&early, &waker));
        assert!(!t.expired(&late, &waker));
        t.expire(now + Duration::from_millis(6));
        assert_eq!(count.0.load(Ordering::Relaxed), 1, "woken twice");
        t.wake_all();
        assert_eq!(count.0.load(Ordering::Relaxed), 3);
        t.forget(&early);
        t.forget(&late);
        assert_eq!(t.len(), 0);
        t.forget(&late);
        assert!(!t.expired(&late, &waker), "a forgotten key has no entry");
    }

    #[test]
    fn arming_again_reuses_the_entry_and_clears_an_expiry() {
        let t = Deadlines::new(Duration::from_secs(1), Duration::from_secs(1));
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let key = EntryKey::default();
        assert!(!t.expired(&key, &waker), "never armed");
        t.arm(&key, &waker, Duration::ZERO);
        t.expire(Instant::now() + Duration::from_millis(2));
        assert!(t.expired(&key, &waker));
        t.arm(&key, &waker, Duration::from_secs(10));
        assert_eq!(t.len(), 1, "one entry per key");
        assert!(!t.expired(&key, &waker), "the new deadline is ahead");
        t.forget(&key);
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

        let key = EntryKey::default();
        let mut ready = t.within(&key, Duration::ZERO, std::future::ready(7));
        assert_eq!(Pin::new(&mut ready).poll(&mut cx), Poll::Ready(Some(7)));
        assert_eq!(t.len(), 0, "a future ready at once needs no entry");

        let mut stuck = t.within(&key, Duration::ZERO, std::future::pending::<()>());
        assert_eq!(Pin::new(&mut stuck).poll(&mut cx), Poll::Pending);
        assert_eq!(t.len(), 1);
        // A drain's wake is not a deadline.
        t.wake_all();
        assert_eq!(Pin::new(&mut stuck).poll(&mut cx), Poll::Pending);
        t.expire(Instant::now() + Duration::from_millis(2));
        assert_eq!(count.0.load(Ordering::Relaxed), 2, "drained, then swept");
        assert_eq!(Pin::new(&mut stuck).poll(&mut cx), Poll::Ready(None));
        // The next wait re-arms the same entry, with a deadline of its own.
        let mut next = t.within(&key, Duration::from_secs(10), std::future::pending::<()>());
        assert_eq!(Pin::new(&mut next).poll(&mut cx), Poll::Pending);
        assert_eq!(Pin::new(&mut next).poll(&mut cx), Poll::Pending);
        assert_eq!(t.len(), 1, "one entry per key");
        t.forget(&key);
        assert_eq!(t.len(), 0, "the entry goes when forgotten");
    }
}
