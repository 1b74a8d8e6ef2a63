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

/// Arms the receive; `limit` as for [`MultiOp::submit_limited`].
pub(crate) fn recv_multi(
    fd: &SharedFd,
    ring: &Rc<RingInner>,
    limit: u16,
) -> io::Result<MultiOp<RecvMulti>> {
    let sqe = opcode::RecvMulti::new(types::Fd(fd.raw()), ring.group()).build();
    let data = RecvMulti {
        _fd: fd.clone(),
        ring: ring.clone(),
    };
    // SAFETY: no pointer of ours; the ring's buffers stay registered while
    // `data` (op, then slot, until the final CQE) holds its `Rc` to the ring,
    // and `data`'s fd share keeps the socket open.
    unsafe { MultiOp::submit_limited(data, sqe, limit) }
}
