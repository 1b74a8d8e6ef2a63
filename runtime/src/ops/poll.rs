use crate::driver::{Completion, Op, OpDef, Orphan};
use crate::net::fd::SharedFd;
use io_uring::{opcode, types};
use std::io;

/// Waits once for readiness events on an fd (single-shot `POLL_ADD`).
pub(crate) struct Poll {
    _fd: SharedFd,
}

impl Orphan for Poll {}

impl OpDef for Poll {
    /// The events that fired (`POLLOUT`, `POLLERR`, …).
    type Output = io::Result<u32>;
    fn complete(self, c: Completion) -> io::Result<u32> {
        c.into_result()
    }
}

pub(crate) fn poll(fd: &SharedFd, events: u32) -> io::Result<Op<Poll>> {
    let sqe = opcode::PollAdd::new(types::Fd(fd.raw()), events).build();
    // SAFETY: no pointers; the fd is kept open by the share the op owns.
    unsafe { Op::submit(Poll { _fd: fd.clone() }, sqe) }.map_err(|(e, _)| e)
}
