use crate::buf::ring::RingInner;
use crate::driver::{Completion, MultiOp, Orphan};
use crate::net::fd::SharedFd;
use io_uring::{cqueue, opcode, types};
use std::io;
use std::rc::Rc;

/// A multishot receive into buffers picked by the kernel from a provided
/// buffer ring. Each CQE names the buffer it filled.
pub(crate) struct RecvMulti {
    _fd: SharedFd,
    ring: Rc<RingInner>,
}

impl Orphan for RecvMulti {
    /// A completion nobody will read still holds a ring buffer: put it back.
    fn on_cqe(&mut self, c: &Completion) {
        if let Some(bid) = cqueue::buffer_select(c.flags) {
            self.ring.recycle(bid);
        }
    }
}

pub(crate) fn recv_multi(fd: &SharedFd, ring: &Rc<RingInner>) -> io::Result<MultiOp<RecvMulti>> {
    let sqe = opcode::RecvMulti::new(types::Fd(fd.raw()), ring.group()).build();
    // SAFETY: the SQE carries no pointer of ours; the kernel writes into the
    // ring's buffers, which stay registered and allocated while the op data
    // holds its `Rc` to the ring (until the final CQE); the fd share keeps
    // the socket open.
    unsafe {
        MultiOp::submit(
            RecvMulti {
                _fd: fd.clone(),
                ring: ring.clone(),
            },
            sqe,
        )
    }
}
