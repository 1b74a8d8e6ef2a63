use crate::buf::IoBufMut;
use crate::driver::{Completion, Op, OpDef, Orphan};
use crate::net::fd::SharedFd;
use io_uring::{opcode, types};
use std::io;

/// `IORING_RECVSEND_POLL_FIRST` (`io_uring.h`): arm poll before trying.
const RECVSEND_POLL_FIRST: u16 = 1;

/// Receives into `buf` from its start, up to `bytes_total()` bytes.
pub(crate) struct Recv<B> {
    fd: SharedFd,
    buf: B,
}

impl<B: IoBufMut> Orphan for Recv<B> {}

impl<B: IoBufMut> OpDef for Recv<B> {
    type Output = (io::Result<usize>, B);
    fn complete(mut self, c: Completion) -> Self::Output {
        self.fd
            .set_sock_nonempty(io_uring::cqueue::sock_nonempty(c.flags));
        let res = c.into_result().map(|n| n as usize);
        if let Ok(n) = res {
            // SAFETY: the kernel wrote `n` bytes at the start of the buffer,
            // within the `bytes_total()` bytes the SQE described.
            unsafe { self.buf.set_init(n) };
        }
        (res, self.buf)
    }
}

pub(crate) fn recv<B: IoBufMut>(fd: &SharedFd, mut buf: B) -> Result<Op<Recv<B>>, (io::Error, B)> {
    let len = buf.bytes_total().min(u32::MAX as usize) as u32;
    let ptr = buf.stable_mut_ptr();
    // A socket the last receive left empty is most likely still empty
    // (request/response traffic): arming poll first saves the kernel a
    // receive attempt that would fail. With data queued, try at once.
    let ioprio = if fd.sock_nonempty() {
        0
    } else {
        RECVSEND_POLL_FIRST
    };
    let sqe = opcode::Recv::new(types::Fd(fd.raw()), ptr, len)
        .ioprio(ioprio)
        .build();
    // SAFETY: `ptr..ptr+len` is the buffer's whole allocation; the buffer is
    // owned by the op data and its storage does not move with it (IoBufMut
    // contract); the fd share keeps the socket open.
    unsafe {
        Op::submit(
            Recv {
                fd: fd.clone(),
                buf,
            },
            sqe,
        )
    }
    .map_err(|(e, d)| (e, d.buf))
}
