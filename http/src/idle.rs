//! The connections waiting for their next request, and their deadlines.
//!
//! An idle connection registers here rather than on the runtime's timer
//! wheel: one entry holds both what a drain wakes and the idle deadline,
//! and one sweeper per server, ticking at an eighth of the idle timeout
//! (at most once a second), wakes the connections whose deadline passed.
//! A connection therefore closes between its deadline and one tick later,
//! and an idle connection costs one small entry instead of a timer and a
//! waiter.

use slab::Slab;
use std::cell::RefCell;
use std::task::Waker;
use std::time::{Duration, Instant};

/// Keeps idle deadlines to within this much, at most.
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

pub(crate) struct IdleTable {
    entries: RefCell<Slab<Entry>>,
    epoch: Instant,
    tick: Duration,
}

impl IdleTable {
    pub(crate) fn new(idle: Duration) -> IdleTable {
        IdleTable {
            entries: RefCell::new(Slab::new()),
            epoch: Instant::now(),
            tick: (idle / 8).clamp(MIN_TICK, MAX_TICK),
        }
    }

    /// `at` in the entries' unit; never `EXPIRED`.
    fn millis(&self, at: Instant) -> u64 {
        let ms = at.saturating_duration_since(self.epoch).as_millis();
        u64::try_from(ms).unwrap_or(u64::MAX - 1) + 1
    }

    /// Adds a connection that waits until `deadline`; returns its key.
    pub(crate) fn insert(&self, waker: &Waker, deadline: Instant) -> usize {
        // Rounded up, so the sweeper never closes a connection early.
        let deadline = self.millis(deadline + Duration::from_nanos(999_999));
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

    /// Wakes every idle connection (the server is draining; each sees that
    /// and closes).
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

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.borrow().len()
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
    fn tick_is_an_eighth_of_the_timeout_within_bounds() {
        assert_eq!(IdleTable::new(Duration::from_secs(60)).tick, MAX_TICK);
        assert_eq!(
            IdleTable::new(Duration::from_millis(800)).tick,
            Duration::from_millis(100)
        );
        assert_eq!(IdleTable::new(Duration::from_millis(1)).tick, MIN_TICK);
    }

    #[test]
    fn expire_wakes_only_entries_past_their_deadline_and_only_once() {
        let t = IdleTable::new(Duration::from_secs(1));
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let now = t.epoch;
        let early = t.insert(&waker, now + Duration::from_micros(4_500));
        let late = t.insert(&waker, now + Duration::from_secs(10));
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
}
