use crate::buf::ring::RingInner;
use crate::buf::RingBuf;
use crate::driver::{Completion, Op, OpDef, Orphan};
use crate::net::fd::SharedFd;
use io_uring::{cqueue, opcode, squeue, types};
use std::io;
use std::rc::Rc;

/// `IORING_RECVSEND_POLL_FIRST` (`io_uring.h`): arm poll before trying.
const RECVSEND_POLL_FIRST: u16 = 1;

/// One receive into a buffer the kernel picks from a provided buffer ring
/// when data arrives, so the op holds no buffer while it waits.
pub(crate) struct RecvSelect {
    fd: SharedFd,
    ring: Rc<RingInner>,
}

impl Orphan for RecvSelect {
    /// A completion nobody will read still holds a ring buffer: put it back.
    fn on_cqe(&mut self, c: &Completion) {
        if let Some(bid) = cqueue::buffer_select(c.flags) {
            self.ring.recycle(bid);
        }
    }
}

impl OpDef for RecvSelect {
    /// `Ok(None)`: the peer closed its side.
    type Output = io::Result<Option<RingBuf>>;
    fn complete(self, c: Completion) -> Self::Output {
        self.fd.set_sock_nonempty(cqueue::sock_nonempty(c.flags));
        // Wrap the buffer first, so every path gives it back.
        let buf =
            cqueue::buffer_select(c.flags).map(|bid| self.ring.take(bid, c.result.max(0) as usize));
        match c.result {
            0 => Ok(None),
            n if n > 0 => buf
                .map(Some)
                .ok_or_else(|| io::Error::other("receive completed without a buffer")),
            e => Err(io::Error::from_raw_os_error(-e)),
        }
    }
}

pub(crate) fn recv_select(fd: &SharedFd, ring: &Rc<RingInner>) -> io::Result<Op<RecvSelect>> {
    let ioprio = if fd.sock_nonempty() {
        0
    } else {
        RECVSEND_POLL_FIRST
    };
    let sqe = opcode::Recv::new(types::Fd(fd.raw()), std::ptr::null_mut(), 0)
        .buf_group(ring.group())
        .ioprio(ioprio)
        .build()
        .flags(squeue::Flags::BUFFER_SELECT);
    let data = RecvSelect {
        fd: fd.clone(),
        ring: ring.clone(),
    };
    // SAFETY: no pointer of ours; the ring's buffers stay registered while
    // `data` (op, then slot, until the final CQE) holds its `Rc` to the ring,
    // and `data`'s fd share keeps the socket open.
    unsafe { Op::submit(data, sqe) }.map_err(|(e, _)| e)
}
