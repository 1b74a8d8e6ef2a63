//! Pools of [`FutureSlot`]s, per shard: the memory a connection's burst of
//! requests runs in, and the memory its handlers' futures run in, reused
//! from one burst to the next instead of allocated and freed for each.
//!
//! A slot is emptied (its future dropped) the moment it goes back, not
//! when it is next handed out: a future left in a pooled slot would keep
//! its connection, and whatever else it holds, alive.

use crate::handler::FutureSlot;
use shardio::pool::{LocalPool, LocalPooled, Pool};
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Slots whose memory grew past this are freed rather than kept: a rare
/// huge future does not pin its memory in the pool.
const KEEP_MAX: usize = 16 * 1024;

/// A shard's pool of slots for futures producing `T`.
pub(crate) struct SlotPool<T: 'static> {
    slots: LocalPool<FutureSlot<T>>,
}

impl<T: 'static> SlotPool<T> {
    /// A pool keeping up to `capacity` empty slots; more are made, and
    /// freed after, when a burst of connections needs them.
    pub(crate) fn new(capacity: usize) -> SlotPool<T> {
        SlotPool {
            slots: Pool::builder(FutureSlot::default)
                .capacity(capacity)
                .build_local(),
        }
    }

    /// An empty slot.
    pub(crate) fn get(&self) -> PooledSlot<T> {
        // The pool allocates past its capacity rather than fail.
        let slot = self
            .slots
            .get()
            .unwrap_or_else(|_| unreachable!("the slot pool allocates on overflow"));
        PooledSlot(slot)
    }
}

/// A slot on loan from a [`SlotPool`]; emptied when it goes back.
pub(crate) struct PooledSlot<T: 'static>(LocalPooled<FutureSlot<T>>);

impl<T: 'static> Deref for PooledSlot<T> {
    type Target = FutureSlot<T>;

    fn deref(&self) -> &FutureSlot<T> {
        &self.0
    }
}

impl<T: 'static> DerefMut for PooledSlot<T> {
    fn deref_mut(&mut self) -> &mut FutureSlot<T> {
        &mut self.0
    }
}

/// Polls the future in the slot: awaiting a `PooledSlot` by value keeps
/// just the loan (one word) in the awaiting future's state.
impl<T: 'static> Future for PooledSlot<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut **self).poll(cx)
    }
}

impl<T: 'static> Drop for PooledSlot<T> {
    fn drop(&mut self) {
        // Before the handle (a field) returns the slot to the pool.
        if self.0.capacity() > KEEP_MAX {
            *self.0 = FutureSlot::default();
        } else {
            self.0.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;
    use std::rc::Rc;

    #[test]
    fn a_slot_is_emptied_as_it_goes_back_and_its_memory_reused() {
        let pool = SlotPool::<u32>::new(4);
        // What the pending future holds: released only when it drops.
        let held = Rc::new(());
        let mut slot = pool.get();
        let in_future = held.clone();
        slot.put(async move {
            let _held = in_future;
            std::future::pending::<u32>().await
        });
        assert!((&mut *slot).now_or_never().is_none());
        let capacity = slot.capacity();
        drop(slot);
        assert_eq!(
            Rc::strong_count(&held),
            1,
            "the pending future dropped on return"
        );
        let mut slot = pool.get();
        assert!(!slot.is_occupied());
        assert_eq!(slot.capacity(), capacity, "the same memory, kept");
        slot.put(async { 7 });
        assert_eq!((&mut *slot).now_or_never(), Some(7));
    }

    #[test]
    fn a_slot_grown_past_the_limit_is_freed_on_return() {
        let pool = SlotPool::<usize>::new(4);
        let mut slot = pool.get();
        let big = [1u8; KEEP_MAX + 1];
        slot.put(async move { big.len() });
        assert!(slot.capacity() > KEEP_MAX);
        drop(slot);
        assert_eq!(pool.get().capacity(), 0, "not kept");
    }
}
