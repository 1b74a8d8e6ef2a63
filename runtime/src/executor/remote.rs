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
//! Messages between shards (`mesh`) use the same flag through
//! [`Remote::notify`], and the shard checks its inbox after `prepare_sleep`.
//!
//! Ringing: from another shard whose kernel has IORING_OP_MSG_RING, the
//! doorbell is a MSG_RING SQE in the *sender's* ring, which posts a CQE
//! straight into this shard's ring (no extra syscall; it leaves with the
//! sender's next submit). From any other thread, or if MSG_RING fails, it
//! is a write to the eventfd whose read is armed in this shard's ring.

use super::TaskRef;
use crate::shard::Shard;
use crossbeam_queue::SegQueue;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

pub(crate) struct Remote {
    queue: SegQueue<TaskRef>,
    sleeping: AtomicBool,
    eventfd: OwnedFd,
    /// A duplicate of the shard's ring fd, for MSG_RING; set when the kernel
    /// has it. The duplicate keeps the ring's file alive, so a MSG_RING
    /// never reaches a recycled fd.
    ring_fd: OnceLock<OwnedFd>,
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
            ring_fd: OnceLock::new(),
        })
    }

    pub(crate) fn eventfd(&self) -> RawFd {
        self.eventfd.as_raw_fd()
    }

    /// Lets other shards ring this one with MSG_RING.
    pub(crate) fn enable_msg_ring(&self, ring_fd: RawFd) -> io::Result<()> {
        // SAFETY: F_DUPFD_CLOEXEC takes no pointer; the result is checked.
        let dup = unsafe { libc::fcntl(ring_fd, libc::F_DUPFD_CLOEXEC, 0) };
        if dup < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `dup` was just created and is owned by nobody else.
        let _already = self.ring_fd.set(unsafe { OwnedFd::from_raw_fd(dup) });
        Ok(())
    }

    pub(crate) fn ring_fd(&self) -> Option<RawFd> {
        self.ring_fd.get().map(AsRawFd::as_raw_fd)
    }

    /// Queues a woken task from another thread and wakes the shard if needed.
    pub(crate) fn push(self: &Arc<Self>, task: TaskRef) {
        self.queue.push(task);
        self.notify();
    }

    /// Wakes the shard if it is asleep or about to sleep. Call after making
    /// work visible to it (a queued task, a message in its inbox).
    pub(crate) fn notify(self: &Arc<Self>) {
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed) && self.sleeping.swap(false, Ordering::AcqRel) {
            let via_ring = self.ring_fd.get().is_some()
                && Shard::with_current(|s| {
                    s.driver
                        .try_borrow_mut()
                        .is_ok_and(|mut d| d.msg_ring(self, &s.counters))
                })
                .unwrap_or(false);
            if !via_ring {
                self.ring();
            }
        }
    }

    pub(crate) fn pop(&self) -> Option<TaskRef> {
        self.queue.pop()
    }

    /// Writes the eventfd, completing the read armed in the shard's ring.
    /// (Also the fallback when a MSG_RING doorbell fails.)
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
