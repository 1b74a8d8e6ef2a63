//! The cross-thread side of a shard: a lock-free queue of woken tasks and the
//! eventfd doorbell that wakes the ring.
//!
//! Lost-wakeup freedom (a Dekker handshake on `sleeping` and the queue):
//!
//! * the shard, before blocking in the ring, stores `sleeping = true`, issues
//!   a SeqCst fence, then checks the queue; it only blocks if the queue is
//!   empty;
//! * a waker pushes to the queue, issues a SeqCst fence, then loads
//!   `sleeping`; if set, it clears it and writes the eventfd, whose read is
//!   always armed in the ring while the shard blocks.
//!
//! With both fences at least one side sees the other: either the shard sees
//! the pushed task and does not block, or the waker sees `sleeping` and rings.

use super::TaskRef;
use crossbeam_queue::SegQueue;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{fence, AtomicBool, Ordering};

pub(crate) struct Remote {
    queue: SegQueue<TaskRef>,
    sleeping: AtomicBool,
    eventfd: OwnedFd,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("queued", &self.queue.len())
            .finish()
    }
}

impl Remote {
    pub(crate) fn new() -> io::Result<Remote> {
        // SAFETY: eventfd has no pointer arguments; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Remote {
            queue: SegQueue::new(),
            sleeping: AtomicBool::new(false),
            // SAFETY: `fd` was just created and is owned by nobody else.
            eventfd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    pub(crate) fn eventfd(&self) -> RawFd {
        self.eventfd.as_raw_fd()
    }

    /// Queues a woken task from another thread and wakes the shard if needed.
    pub(crate) fn push(&self, task: TaskRef) {
        self.queue.push(task);
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed) && self.sleeping.swap(false, Ordering::AcqRel) {
            self.ring();
        }
    }

    pub(crate) fn pop(&self) -> Option<TaskRef> {
        self.queue.pop()
    }

    /// Writes the eventfd, completing the read armed in the shard's ring.
    pub(crate) fn ring(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live local; the eventfd is owned by
        // self. A full counter (EAGAIN) already means a pending wakeup.
        let _ = unsafe { libc::write(self.eventfd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    /// Announces that the shard is about to block. Returns `false` (and
    /// withdraws the announcement) if work arrived in the meantime.
    pub(crate) fn prepare_sleep(&self) -> bool {
        self.sleeping.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if self.queue.is_empty() {
            true
        } else {
            self.sleeping.store(false, Ordering::Relaxed);
            false
        }
    }

    /// The shard is awake again.
    pub(crate) fn woke(&self) {
        self.sleeping.store(false, Ordering::Relaxed);
    }
}
