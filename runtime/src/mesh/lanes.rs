//! `Lanes<T>`: one bounded lock-free queue per (sender, receiver) pair of
//! shards, with the wakeups that make senders wait instead of spin and
//! receivers sleep instead of poll.
//!
//! Lost-wakeup freedom, in both directions, is the same Dekker handshake as
//! the shard's remote queue (see `executor::remote`):
//!
//! * a receiver registers its waker, sets `waiting`, issues a SeqCst fence,
//!   then looks at the queues again; a sender pushes, issues a SeqCst
//!   fence, then reads `waiting` and, if set, clears it and wakes the
//!   registered waker. A busy receiver never sets `waiting`, so a stream of
//!   messages costs the sender no write to a line the receiver reads;
//! * a sender that finds its lane full queues its waker in the lane's
//!   `space` list, issues a SeqCst fence, then tries again; a receiver pops,
//!   issues a SeqCst fence, then wakes everyone in `space`.

use atomic_waker::AtomicWaker;
use crossbeam_queue::{ArrayQueue, SegQueue};
use std::fmt;
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

struct Lane<T> {
    queue: ArrayQueue<T>,
    /// Senders waiting for room.
    space: SegQueue<Waker>,
}

struct Receiver {
    waker: AtomicWaker,
    /// The receiver found nothing and is about to wait.
    waiting: AtomicBool,
    /// Which lane to look at first (round robin); only the receiving shard
    /// touches it.
    cursor: AtomicUsize,
}

pub(crate) struct Lanes<T> {
    shards: usize,
    /// `shards * shards` lanes; lane `from * shards + to`.
    lanes: Box<[Lane<T>]>,
    receivers: Box<[Receiver]>,
}

impl<T> fmt::Debug for Lanes<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lanes")
            .field("shards", &self.shards)
            .field("capacity", &self.capacity())
            .finish()
    }
}

impl<T> Lanes<T> {
    pub(crate) fn new(shards: usize, capacity: usize) -> Lanes<T> {
        let capacity = capacity.max(1);
        Lanes {
            shards,
            lanes: (0..shards * shards)
                .map(|_| Lane {
                    queue: ArrayQueue::new(capacity),
                    space: SegQueue::new(),
                })
                .collect(),
            receivers: (0..shards)
                .map(|_| Receiver {
                    waker: AtomicWaker::new(),
                    waiting: AtomicBool::new(false),
                    cursor: AtomicUsize::new(0),
                })
                .collect(),
        }
    }

    pub(crate) fn shards(&self) -> usize {
        self.shards
    }

    pub(crate) fn capacity(&self) -> usize {
        self.lanes.first().map_or(0, |l| l.queue.capacity())
    }

    fn lane(&self, from: usize, to: usize) -> &Lane<T> {
        &self.lanes[from * self.shards + to]
    }

    /// Sends `msg` from shard `from` to shard `to`, waiting while the lane is
    /// full. `msg` is taken out of the option once it is in the lane.
    pub(crate) fn poll_send(
        &self,
        from: usize,
        to: usize,
        msg: &mut Option<T>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let lane = self.lane(from, to);
        let Some(m) = msg.take() else {
            return Poll::Ready(());
        };
        let m = match lane.queue.push(m) {
            Ok(()) => return self.sent(to),
            Err(m) => m,
        };
        // Full: ask to be woken when the receiver makes room, then look
        // again (the receiver may have popped before it could see us).
        lane.space.push(cx.waker().clone());
        fence(Ordering::SeqCst);
        match lane.queue.push(m) {
            Ok(()) => self.sent(to),
            Err(m) => {
                *msg = Some(m);
                Poll::Pending
            }
        }
    }

    fn sent(&self, to: usize) -> Poll<()> {
        let receiver = &self.receivers[to];
        fence(Ordering::SeqCst);
        if receiver.waiting.load(Ordering::Relaxed)
            && receiver.waiting.swap(false, Ordering::AcqRel)
        {
            receiver.waker.wake();
        }
        Poll::Ready(())
    }

    /// Takes the next message for shard `to`, from any sender; round robin
    /// over the senders so that none is starved.
    pub(crate) fn try_recv(&self, to: usize) -> Option<(usize, T)> {
        let receiver = &self.receivers[to];
        let start = receiver.cursor.load(Ordering::Relaxed);
        for i in 0..self.shards {
            let from = (start + i) % self.shards;
            let lane = self.lane(from, to);
            if let Some(msg) = lane.queue.pop() {
                receiver.cursor.store(from + 1, Ordering::Relaxed);
                fence(Ordering::SeqCst);
                while let Some(w) = lane.space.pop() {
                    w.wake();
                }
                return Some((from, msg));
            }
        }
        None
    }

    /// Waits for the next message for shard `to`.
    pub(crate) fn poll_recv(&self, to: usize, cx: &mut Context<'_>) -> Poll<(usize, T)> {
        if let Some(m) = self.try_recv(to) {
            return Poll::Ready(m);
        }
        let receiver = &self.receivers[to];
        receiver.waker.register(cx.waker());
        // SeqCst (a release): a sender that sees it also sees the waker.
        receiver.waiting.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        match self.try_recv(to) {
            Some(m) => {
                receiver.waiting.store(false, Ordering::Relaxed);
                Poll::Ready(m)
            }
            None => Poll::Pending,
        }
    }

    /// Whether any message for shard `to` is queued.
    pub(crate) fn has_incoming(&self, to: usize) -> bool {
        (0..self.shards).any(|from| !self.lane(from, to).queue.is_empty())
    }

    /// Drops everything queued for shard `to` and wakes waiting senders.
    pub(crate) fn clear_incoming(&self, to: usize) {
        while self.try_recv(to).is_some() {}
    }
}
