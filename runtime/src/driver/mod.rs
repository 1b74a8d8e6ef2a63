//! The ring driver: one io_uring ring and the table of operations in flight.
//!
//! # What the executor may expect of the driver
//!
//! * [`Op::submit`] places an SQE in the submission queue and a slot in the op
//!   table; the SQE's `user_data` is the slot's key. Nothing reaches the kernel
//!   until the shard calls [`Driver::submit`] or [`Driver::wait`] — except when
//!   the submission queue is full, in which case the push itself submits and
//!   retries, so a push never fails for lack of room.
//! * [`Driver::reap`] moves every available CQE into its slot and wakes the
//!   future waiting on it. It never blocks and never calls back into user code
//!   other than `Waker::wake`.
//! * A slot lives from push until the op's **final** CQE (the one without
//!   `IORING_CQE_F_MORE`), whether or not its future is still around. A future
//!   dropped early hands its resources (buffers, fd handles, sockaddrs) to the
//!   slot and an `AsyncCancel` is pushed; the resources are released, and any
//!   side effect of a late completion undone ([`Orphan::on_cqe`]), only when the
//!   final CQE arrives. An op let run without its future (`Op::let_run`, for
//!   `TcpStream::send_behind`) is not cancelled: its resources are boxed in
//!   the slot with a finisher, which the reap calls at the final CQE (it may
//!   wake a task; it never enters the driver).
//! * [`Driver::wait`] blocks until at least one CQE is ready or the timeout
//!   passes. It is only called with an empty run queue, and it always submits
//!   what is queued first: the shard never sleeps with SQEs pending.
//! * [`Driver::drain`] cancels everything in flight and reaps until the table
//!   is empty; if the kernel does not answer before the deadline the driver
//!   leaks the table and the ring rather than free memory the kernel may still
//!   write into.

mod op;
mod setup;

pub use op::{Completion, Op, OpDef, Orphan};
pub(crate) use op::{Finish, MultiOp};
pub(crate) use setup::RingConfig;
pub use setup::RingMode;

use crate::executor::Remote;
use crate::stats::Counters;
use io_uring::{opcode, squeue, types, IoUring};
use op::{AfterCqe, Slot, State};
use slab::Slab;
use std::io;
use std::os::fd::AsRawFd;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `user_data` of CQEs that need no handling (cancel requests).
const IGNORED: u64 = u64::MAX;
/// `user_data` of the doorbell's eventfd read.
const DOORBELL: u64 = u64::MAX - 1;
/// `user_data` of the CQE another shard's MSG_RING posts here (a wakeup).
const DOORBELL_MSG: u64 = u64::MAX - 2;
/// Tag of our own MSG_RING requests' CQEs; the low bits are a `msgs` key.
const MSG_TAG: u64 = 1 << 62;

/// `IORING_ENTER_GETEVENTS` from the kernel ABI (`io_uring.h`).
const IORING_ENTER_GETEVENTS: u32 = 1 << 0;

/// Finished finishers' boxes kept for reuse ([`Finish`]).
const MAX_SPARE_FINISHERS: usize = 64;

/// How many times a flush is retried when the kernel keeps answering EBUSY.
const MAX_BUSY_RETRIES: usize = 1024;

pub(crate) struct Driver {
    ring: IoUring,
    ops: Slab<Slot>,
    /// Multishot ops that reached their limit of untaken CQEs during a
    /// reap, cancelled once the completion queue is let go.
    over_limit: Vec<usize>,
    mode: RingMode,
    /// The eventfd other threads write to wake this shard.
    doorbell_fd: RawFd,
    /// INVARIANT: while `doorbell_armed`, the kernel may write into this box;
    /// it is only dropped after the read's CQE (see `drain`).
    doorbell_buf: Box<u64>,
    doorbell_armed: bool,
    last_overflow: u32,
    /// Which opcodes the kernel supports.
    probe: io_uring::Probe,
    /// MSG_RING doorbells in flight, by key: the target (whose `Arc` keeps
    /// its ring fd open until the CQE) to ring by eventfd if the message
    /// fails.
    msgs: Slab<Arc<Remote>>,
    /// Boxes of finished finishers, empty, for the next ops let run
    /// ([`Finish`]).
    spares: Vec<Box<dyn Finish>>,
    /// Set when the table could not be drained: the ring and the table are
    /// then leaked on drop instead of freed.
    poisoned: bool,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("mode", &self.mode)
            .field("in_flight", &self.ops.len())
            .finish_non_exhaustive()
    }
}

impl Driver {
    pub(crate) fn new(config: &RingConfig, doorbell_fd: RawFd) -> io::Result<Driver> {
        let (ring, mode, probe) = setup::build_ring(config)?;
        Ok(Driver {
            ring,
            ops: Slab::with_capacity(config.entries as usize),
            over_limit: Vec::new(),
            mode,
            doorbell_fd,
            doorbell_buf: Box::new(0),
            doorbell_armed: false,
            last_overflow: 0,
            probe,
            msgs: Slab::new(),
            spares: Vec::new(),
            poisoned: false,
        })
    }

    pub(crate) fn mode(&self) -> RingMode {
        self.mode
    }

    /// Whether the kernel supports the opcode `code`.
    pub(crate) fn supports(&self, code: u8) -> bool {
        self.probe.is_supported(code)
    }

    fn has_msg_ring(&self) -> bool {
        self.probe.is_supported(opcode::MsgRingData::CODE)
    }

    /// The ring's fd, if the kernel lets other rings message it.
    pub(crate) fn msg_ring_fd(&self) -> Option<RawFd> {
        self.has_msg_ring().then(|| self.ring.as_raw_fd())
    }

    /// Queues a MSG_RING that posts a wakeup CQE into `target`'s ring.
    /// Returns false if MSG_RING cannot be used (the caller writes the
    /// eventfd instead).
    pub(crate) fn msg_ring(&mut self, target: &Arc<Remote>, counters: &Counters) -> bool {
        let Some(fd) = target.ring_fd() else {
            return false;
        };
        if !self.has_msg_ring() {
            return false;
        }
        let key = self.msgs.insert(target.clone());
        let sqe = opcode::MsgRingData::new(types::Fd(fd), 0, DOORBELL_MSG, None)
            .build()
            .user_data(MSG_TAG | key as u64);
        // SAFETY: MSG_RING carries no pointer; its fd is the target's ring
        // duplicate, kept open by the `Arc<Remote>` in `msgs` until the CQE.
        if unsafe { self.push(&sqe, counters) }.is_err() {
            self.msgs.remove(key);
            return false;
        }
        true
    }

    /// Ops whose final CQE has not been reaped yet (including orphaned ones).
    pub(crate) fn in_flight(&self) -> usize {
        self.ops.len()
    }

    /// Pushes an SQE, submitting to make room if the queue is full.
    ///
    /// # Safety
    ///
    /// Every pointer the SQE carries must stay valid until its final CQE has
    /// been reaped, and its fd must stay open until then.
    unsafe fn push(&mut self, sqe: &squeue::Entry, counters: &Counters) -> io::Result<()> {
        loop {
            // SAFETY: forwarded from the caller's contract.
            if unsafe { self.ring.submission().push(sqe) }.is_ok() {
                return Ok(());
            }
            // Full: hand what is queued to the kernel and try again.
            self.flush(counters)?;
        }
    }

    /// Submits queued SQEs without waiting, answering EBUSY by reaping.
    fn flush(&mut self, counters: &Counters) -> io::Result<()> {
        for _ in 0..MAX_BUSY_RETRIES {
            match self.enter(0, None, counters) {
                Ok(()) => return Ok(()),
                Err(e) if is_busy(&e) => {
                    self.reap(counters);
                }
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "io_uring submission kept failing with EBUSY while reaping completions",
        ))
    }

    /// Submits what is queued and reaps what is ready, without blocking.
    pub(crate) fn submit(&mut self, counters: &Counters) -> io::Result<()> {
        if self.ops.is_empty() && self.ring.submission().is_empty() {
            // Nothing queued and nothing in flight: no completion can be
            // pending (a finished doorbell read is reaped by the next wait).
            return Ok(());
        }
        self.flush(counters)?;
        self.reap(counters);
        Ok(())
    }

    /// Submits what is queued and blocks until at least one completion is ready
    /// or `timeout` passes; then reaps.
    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
        counters: &Counters,
    ) -> io::Result<()> {
        self.arm_doorbell(counters)?;
        match self.enter(1, timeout, counters) {
            Ok(()) => {}
            Err(e) if is_busy(&e) => {}
            Err(e) => return Err(e),
        }
        self.reap(counters);
        Ok(())
    }

    fn enter(
        &mut self,
        want: u32,
        timeout: Option<Duration>,
        counters: &Counters,
    ) -> io::Result<()> {
        counters.submit_calls.set(counters.submit_calls.get() + 1);
        let to_submit = self.ring.submission().len() as u32;
        let submitter = self.ring.submitter();
        let res = match timeout {
            Some(t) => {
                let ts = types::Timespec::from(t);
                let args = types::SubmitArgs::new().timespec(&ts);
                submitter.submit_with_args(want as usize, &args)
            }
            // SAFETY: plain enter with no argument pointer; GETEVENTS makes the
            // kernel run deferred task work so completions get posted even when
            // `want` is 0 (needed with IORING_SETUP_DEFER_TASKRUN).
            None => unsafe {
                submitter.enter::<libc::sigset_t>(to_submit, want, IORING_ENTER_GETEVENTS, None)
            },
        };
        match res {
            Ok(_) => Ok(()),
            Err(e) => match e.raw_os_error() {
                Some(libc::ETIME) | Some(libc::EINTR) => Ok(()),
                _ => Err(e),
            },
        }
    }

    /// Arms the doorbell read if it is not armed.
    fn arm_doorbell(&mut self, counters: &Counters) -> io::Result<()> {
        if self.doorbell_armed {
            return Ok(());
        }
        let ptr: *mut u64 = &mut *self.doorbell_buf;
        let sqe = opcode::Read::new(types::Fd(self.doorbell_fd), ptr.cast(), 8)
            .build()
            .user_data(DOORBELL);
        // SAFETY: the target is `doorbell_buf`, a box the driver frees only
        // after this read's CQE (drain waits while `doorbell_armed`); the
        // eventfd is owned by the shard's Remote, which outlives the driver.
        unsafe { self.push(&sqe, counters)? };
        self.doorbell_armed = true;
        Ok(())
    }

    /// Moves every available CQE into its slot. Returns how many were reaped.
    pub(crate) fn reap(&mut self, counters: &Counters) -> usize {
        let mut n = 0;
        let mut cq = self.ring.completion();
        let overflow = cq.overflow();
        if overflow != self.last_overflow {
            counters.cq_overflows.set(
                counters.cq_overflows.get() + u64::from(overflow.wrapping_sub(self.last_overflow)),
            );
            self.last_overflow = overflow;
        }
        for cqe in &mut cq {
            n += 1;
            let c = Completion {
                result: cqe.result(),
                flags: cqe.flags(),
            };
            match cqe.user_data() {
                IGNORED | DOORBELL_MSG => {}
                DOORBELL => self.doorbell_armed = false,
                tagged if tagged & MSG_TAG != 0 => {
                    let target = self.msgs.try_remove((tagged & !MSG_TAG) as usize);
                    if let (Some(target), true) = (target, c.result < 0) {
                        // The message did not make it: ring the old way.
                        target.ring();
                    }
                }
                key => {
                    if complete(&mut self.ops, &mut self.spares, key as usize, c, counters) {
                        self.over_limit.push(key as usize);
                    }
                }
            }
        }
        drop(cq);
        while let Some(key) = self.over_limit.pop() {
            self.cancel(key, counters);
        }
        n
    }

    /// Cancels the op in `key` (fire and forget: its CQE is ignored).
    pub(crate) fn cancel(&mut self, key: usize, counters: &Counters) {
        let sqe = opcode::AsyncCancel::new(key as u64)
            .build()
            .user_data(IGNORED);
        counters.ops_cancelled.set(counters.ops_cancelled.get() + 1);
        // SAFETY: a cancel request carries no pointers and no fd.
        if let Err(e) = unsafe { self.push(&sqe, counters) } {
            // The op stays orphaned in its slot and is cancelled again by
            // `drain`; nothing is freed early.
            debug_assert!(false, "pushing AsyncCancel failed: {e}");
        }
    }

    /// Tears down: cancels everything in flight and reaps until the table is
    /// empty or `deadline` passes. Returns whether the ring went quiet.
    pub(crate) fn drain(&mut self, deadline: Instant, counters: &Counters) -> bool {
        let keys: Vec<usize> = self.ops.iter().map(|(k, _)| k).collect();
        for key in keys {
            self.cancel(key, counters);
        }
        if self.doorbell_armed {
            let sqe = opcode::AsyncCancel::new(DOORBELL)
                .build()
                .user_data(IGNORED);
            // SAFETY: a cancel request carries no pointers and no fd.
            let _pushed = unsafe { self.push(&sqe, counters) };
        }
        while !self.ops.is_empty() || self.doorbell_armed || !self.msgs.is_empty() {
            let now = Instant::now();
            if now >= deadline {
                self.poisoned = true;
                return false;
            }
            let timeout = (deadline - now).min(Duration::from_millis(100));
            if self.enter(1, Some(timeout), counters).is_err() {
                self.flush(counters).ok();
            }
            self.reap(counters);
        }
        true
    }

    /// Inserts a slot and pushes its SQE with the slot key as `user_data`.
    ///
    /// # Safety
    ///
    /// As for [`push`](Self::push): the SQE's pointers and fd stay valid until
    /// the op's final CQE; the caller hands their owner to the slot (through
    /// [`orphan`](Self::orphan)) if it stops waiting earlier.
    pub(crate) unsafe fn insert(
        &mut self,
        slot: Slot,
        sqe: squeue::Entry,
        counters: &Counters,
    ) -> io::Result<usize> {
        let key = self.ops.insert(slot);
        let sqe = sqe.user_data(key as u64);
        // SAFETY: forwarded from the caller's contract.
        match unsafe { self.push(&sqe, counters) } {
            Ok(()) => {
                counters.ops_submitted.set(counters.ops_submitted.get() + 1);
                Ok(key)
            }
            Err(e) => {
                // Never reached the ring: the slot can go at once.
                self.ops.remove(key);
                Err(e)
            }
        }
    }

    /// Registers a provided buffer ring of `entries` entries at `addr` as
    /// group `bgid`.
    pub(crate) fn register_buf_ring(&self, addr: u64, entries: u16, bgid: u16) -> io::Result<()> {
        // SAFETY: the caller (`BufRing::new`) keeps the ring memory allocated
        // and unmoved until `unregister_buf_ring` succeeds for `bgid`.
        let res = unsafe {
            self.ring
                .submitter()
                .register_buf_ring_with_flags(addr, entries, bgid, 0)
        };
        res.map_err(|e| match e.raw_os_error() {
            Some(libc::EINVAL) | None => io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "registering a provided buffer ring failed ({e}): it needs \
                     IORING_REGISTER_PBUF_RING (Linux 5.19 or newer)"
                ),
            ),
            _ => e,
        })
    }

    /// Unregisters buffer group `bgid`; the kernel forgets its memory.
    pub(crate) fn unregister_buf_ring(&self, bgid: u16) -> io::Result<()> {
        self.ring.submitter().unregister_buf_ring(bgid)
    }

    pub(crate) fn slot(&self, key: usize) -> &Slot {
        &self.ops[key]
    }

    pub(crate) fn slot_mut(&mut self, key: usize) -> &mut Slot {
        &mut self.ops[key]
    }

    /// A finished finisher's box of type `F`, if one is kept, to write the
    /// next finisher over.
    pub(crate) fn spare_finisher<F: Finish>(&mut self) -> Option<Box<dyn Finish>> {
        let i = self
            .spares
            .iter()
            .rposition(|f| (&**f as &dyn std::any::Any).is::<F>())?;
        Some(self.spares.swap_remove(i))
    }

    /// The finisher of the op let run in `key` with `tag`, if it is still
    /// running ([`Op::let_run`]).
    pub(crate) fn behind(&mut self, key: usize, tag: u32) -> Option<&mut dyn Finish> {
        self.ops.get_mut(key)?.behind(tag)
    }

    /// Removes a slot whose final CQE has been consumed by its future.
    pub(crate) fn release(&mut self, key: usize) {
        let slot = self.ops.remove(key);
        debug_assert!(slot.is_final());
    }

    /// The future of `key` went away: keep `orphan` (the resources the kernel
    /// may still touch) in the slot until the final CQE, undoing the effect of
    /// any completion that already arrived, and cancel the op.
    pub(crate) fn orphan(&mut self, key: usize, mut orphan: Box<dyn Orphan>, counters: &Counters) {
        let slot = &mut self.ops[key];
        match slot.take_for_orphan(&mut *orphan) {
            op::Orphaned::Finished => {
                self.ops.remove(key);
                drop(orphan);
            }
            op::Orphaned::InFlight => {
                slot.set_state(State::Ignored(orphan));
                self.cancel(key, counters);
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if self.poisoned || !self.ops.is_empty() || self.doorbell_armed {
            std::mem::forget(std::mem::take(&mut self.msgs));
            // The kernel may still write into buffers owned by the table or into
            // the doorbell box: leak them rather than free them under it.
            let ops = std::mem::take(&mut self.ops);
            std::mem::forget(ops);
            let buf = std::mem::replace(&mut self.doorbell_buf, Box::new(0));
            std::mem::forget(buf);
        }
    }
}

fn is_busy(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::EAGAIN))
}

/// Moves one CQE into its slot (the slot state machine). `true`: the op
/// is a multishot one that reached its limit and must be cancelled.
fn complete(
    ops: &mut Slab<Slot>,
    spares: &mut Vec<Box<dyn Finish>>,
    key: usize,
    c: Completion,
    counters: &Counters,
) -> bool {
    let Some(slot) = ops.get_mut(key) else {
        debug_assert!(false, "CQE for unknown op slot {key}");
        return false;
    };
    let is_final = !io_uring::cqueue::more(c.flags);
    if is_final {
        counters.ops_completed.set(counters.ops_completed.get() + 1);
    }
    match slot.complete(c, is_final) {
        // The final CQE of an orphaned op: now, and only now, its resources go.
        AfterCqe::Release => drop(ops.remove(key)),
        AfterCqe::Finished(finisher) => {
            drop(ops.remove(key));
            if spares.len() < MAX_SPARE_FINISHERS {
                spares.push(finisher);
            }
        }
        AfterCqe::Cancel => return true,
        AfterCqe::Keep => {}
    }
    false
}
