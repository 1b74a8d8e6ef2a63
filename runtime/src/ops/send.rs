use crate::buf::IoBuf;
use crate::driver::{Completion, Op, OpDef, Orphan};
use crate::net::fd::SharedFd;
use io_uring::{opcode, types};
use std::io;

/// Sends the initialized bytes of `buf`.
pub(crate) struct Send<B> {
    _fd: SharedFd,
    buf: B,
}

impl<B: IoBuf> Orphan for Send<B> {}

impl<B: IoBuf> OpDef for Send<B> {
    type Output = (io::Result<usize>, B);
    fn complete(self, c: Completion) -> Self::Output {
        (c.into_result().map(|n| n as usize), self.buf)
    }
}

pub(crate) fn send<B: IoBuf>(fd: &SharedFd, buf: B) -> Result<Op<Send<B>>, (io::Error, B)> {
    let len = buf.bytes_init().min(u32::MAX as usize) as u32;
    let sqe = opcode::Send::new(types::Fd(fd.raw()), buf.stable_ptr(), len)
        .flags(libc::MSG_NOSIGNAL)
        .build();
    // SAFETY: the `len` initialized bytes belong to `buf`, owned by the op
    // data, whose storage does not move with it (IoBuf contract); the fd share
    // keeps the socket open.
    unsafe {
        Op::submit(
            Send {
                _fd: fd.clone(),
                buf,
            },
            sqe,
        )
    }
    .map_err(|(e, d)| (e, d.buf))
}
