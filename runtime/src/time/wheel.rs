//! A hierarchical timing wheel: O(1) insert and cancel, firing in amortised
//! O(1) per timer, with millisecond resolution.
//!
//! Six levels of 64 slots each; a slot of level `L` spans `64^L` ms, so the
//! wheel covers 64^6 ms (about 2.2 years) ahead — later deadlines park in the
//! top level and are re-filed when their slot comes round. Each slot holds an
//! intrusive doubly linked list of entries (links are slab keys), so removing
//! a timer is unlinking it; a 64-bit mask per level says which slots are
//! occupied, so finding the next deadline is a few bit operations per level.
//!
//! A timer due at tick `when` sits at the level of the highest 6-bit group in
//! which `when` differs from `elapsed` (the wheel's current tick). Firing
//! walks slots in deadline order; entries of a higher-level slot that are not
//! yet due are re-filed at a lower level ("cascading").

use slab::Slab;
use std::task::Waker;

const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOTS: u64 = 1 << SLOT_BITS;
const MAX_TICK_SPAN: u64 = 1 << (SLOT_BITS as u64 * LEVELS as u64);
const NIL: usize = usize::MAX;

#[derive(Debug)]
struct Entry {
    when: u64,
    waker: Option<Waker>,
    fired: bool,
    /// Where the entry is linked (only meaningful while not fired).
    level: u8,
    slot: u8,
    prev: usize,
    next: usize,
}

#[derive(Debug)]
pub(crate) struct Wheel {
    entries: Slab<Entry>,
    heads: [[usize; SLOTS as usize]; LEVELS],
    occupied: [u64; LEVELS],
    /// INVARIANT: every linked entry has `when > elapsed`.
    elapsed: u64,
}

impl Wheel {
    pub(crate) fn new() -> Wheel {
        Wheel {
            entries: Slab::new(),
            heads: [[NIL; SLOTS as usize]; LEVELS],
            occupied: [0; LEVELS],
            elapsed: 0,
        }
    }

    /// Registered timers (linked or fired and not yet removed).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Registers a timer due at tick `when`. A tick already reached fires at
    /// once (its waker is woken).
    pub(crate) fn insert(&mut self, when: u64, waker: Waker) -> usize {
        let key = self.entries.insert(Entry {
            when,
            waker: Some(waker),
            fired: false,
            level: 0,
            slot: 0,
            prev: NIL,
            next: NIL,
        });
        if when <= self.elapsed {
            self.fire_entry(key);
        } else {
            self.link(key);
        }
        key
    }

    /// Whether the timer has fired.
    pub(crate) fn is_fired(&self, key: usize) -> bool {
        self.entries[key].fired
    }

    /// Replaces the waker of a pending timer.
    pub(crate) fn set_waker(&mut self, key: usize, waker: &Waker) {
        let entry = &mut self.entries[key];
        match &entry.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => entry.waker = Some(waker.clone()),
        }
    }

    /// Unregisters a timer, fired or not.
    pub(crate) fn remove(&mut self, key: usize) {
        if !self.entries[key].fired {
            self.unlink(key);
        }
        self.entries.remove(key);
    }

    /// The earliest tick at which a timer is due, if any is pending.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        (0..LEVELS).find_map(|level| self.next_expiration(level).map(|(_, when)| when))
    }

    /// Fires every timer due at or before tick `now`. Returns how many fired.
    pub(crate) fn advance(&mut self, now: u64) -> usize {
        let mut fired = 0;
        loop {
            let next = (0..LEVELS).find_map(|level| {
                self.next_expiration(level)
                    .map(|(slot, when)| (level, slot, when))
            });
            let Some((level, slot, when)) = next.filter(|&(_, _, when)| when <= now) else {
                break;
            };
            self.elapsed = self.elapsed.max(when);
            let mut key = std::mem::replace(&mut self.heads[level][slot], NIL);
            self.occupied[level] &= !(1 << slot);
            while key != NIL {
                let next = self.entries[key].next;
                let entry = &mut self.entries[key];
                entry.prev = NIL;
                entry.next = NIL;
                if entry.when <= now {
                    self.fire_entry(key);
                    fired += 1;
                } else {
                    self.link(key);
                }
                key = next;
            }
        }
        self.elapsed = self.elapsed.max(now);
        fired
    }

    fn fire_entry(&mut self, key: usize) {
        let entry = &mut self.entries[key];
        entry.fired = true;
        if let Some(w) = entry.waker.take() {
            w.wake();
        }
    }

    fn level_for(&self, when: u64) -> usize {
        let masked = ((self.elapsed ^ when) | (SLOTS - 1)).min(MAX_TICK_SPAN - 1);
        let significant = 63 - masked.leading_zeros() as usize;
        significant / SLOT_BITS as usize
    }

    fn link(&mut self, key: usize) {
        let when = self.entries[key].when;
        let level = self.level_for(when);
        let slot = ((when >> (level as u32 * SLOT_BITS)) % SLOTS) as usize;
        let head = self.heads[level][slot];
        if head != NIL {
            self.entries[head].prev = key;
        }
        let entry = &mut self.entries[key];
        entry.level = level as u8;
        entry.slot = slot as u8;
        entry.prev = NIL;
        entry.next = head;
        self.heads[level][slot] = key;
        self.occupied[level] |= 1 << slot;
    }

    fn unlink(&mut self, key: usize) {
        let (level, slot, prev, next) = {
            let e = &self.entries[key];
            (e.level as usize, e.slot as usize, e.prev, e.next)
        };
        if prev == NIL {
            self.heads[level][slot] = next;
            if next == NIL {
                self.occupied[level] &= !(1 << slot);
            }
        } else {
            self.entries[prev].next = next;
        }
        if next != NIL {
            self.entries[next].prev = prev;
        }
    }

    /// The next occupied slot of `level` at or after `elapsed`, with the tick
    /// at which that slot starts.
    fn next_expiration(&self, level: usize) -> Option<(usize, u64)> {
        let occupied = self.occupied[level];
        if occupied == 0 {
            return None;
        }
        let shift = level as u32 * SLOT_BITS;
        let slot_range = 1u64 << shift;
        let level_range = slot_range << SLOT_BITS;
        let now_slot = (self.elapsed >> shift) % SLOTS;
        let zeros = u64::from(occupied.rotate_right(now_slot as u32).trailing_zeros());
        let slot = (zeros + now_slot) % SLOTS;
        let level_start = self.elapsed & !(level_range - 1);
        let mut when = level_start + slot * slot_range;
        if when <= self.elapsed {
            // Linked entries are due after `elapsed`, so a slot starting at or
            // before it holds entries of the level's next rotation (only the
            // top level, for deadlines past the wheel's span).
            when += level_range;
        }
        Some((slot as usize, when))
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
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    #[test]
    fn fires_in_order_and_never_early() {
        let mut wheel = Wheel::new();
        let deadlines = [1u64, 5, 63, 64, 65, 4095, 4096, 70_000, 300_000_000];
        let keys: Vec<_> = deadlines
            .iter()
            .map(|&d| (d, wheel.insert(d, waker().1)))
            .collect();
        let mut now = 0;
        for &(d, key) in &keys {
            // One tick before: not fired.
            wheel.advance(d - 1);
            assert!(!wheel.is_fired(key), "fired early at {}", d - 1);
            assert_eq!(wheel.next_deadline(), Some(d), "next deadline after {now}");
            wheel.advance(d);
            assert!(wheel.is_fired(key), "not fired at {d}");
            now = d;
        }
        assert_eq!(wheel.next_deadline(), None);
    }

    #[test]
    fn remove_unlinks_in_constant_time_paths() {
        let mut wheel = Wheel::new();
        let (count, w) = waker();
        let a = wheel.insert(10, w.clone());
        let b = wheel.insert(10, w.clone());
        let c = wheel.insert(10, w);
        wheel.remove(b);
        wheel.remove(a);
        assert_eq!(wheel.next_deadline(), Some(10));
        wheel.remove(c);
        assert_eq!(wheel.next_deadline(), None);
        assert_eq!(wheel.advance(100), 0);
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn past_deadline_fires_immediately() {
        let mut wheel = Wheel::new();
        wheel.advance(1000);
        let (count, w) = waker();
        let key = wheel.insert(500, w);
        assert!(wheel.is_fired(key));
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn many_random_timers_fire_exactly_once_at_their_tick() {
        let mut wheel = Wheel::new();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut timers = Vec::new();
        for _ in 0..20_000 {
            let when = 1 + rand() % 200_000;
            timers.push((when, wheel.insert(when, waker().1)));
        }
        let mut now = 0;
        while now < 200_000 {
            now += 1 + rand() % 997;
            wheel.advance(now);
            for &(when, key) in &timers {
                assert_eq!(wheel.is_fired(key), when <= now, "timer {when} at {now}");
            }
        }
    }
}
