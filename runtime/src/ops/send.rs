use crate::buf::IoBuf;
use crate::driver::{Completion, Op, OpDef, Orphan};
use crate::net::fd::SharedFd;
use io_uring::{opcode, types};
use std::io;

/// Sends the initialized bytes of `buf`.
pub(crate) struct Send<B> {
    fd: SharedFd,
    buf: B,
}

impl<B: IoBuf> Orphan for Send<B> {}

impl<B> Send<B> {
    /// The socket the send is on.
    pub(crate) fn fd(&self) -> &SharedFd {
        &self.fd
    }
}

impl<B: IoBuf> OpDef for Send<B> {
    type Output = (io::Result<usize>, B);
    fn complete(self, c: Completion) -> Self::Output {
        (c.into_result().map(|n| n as usize), self.buf)
    }
}

pub(crate) fn send<B: IoBuf>(fd: &SharedFd, buf: B) -> Result<Op<Send<B>>, (io::Error, B)> {
    send_with(fd, buf, libc::MSG_NOSIGNAL)
}

/// Sends every initialized byte of `buf` in one op: the kernel goes on
/// after a partial send (`MSG_WAITALL`) until all are taken or the socket
/// fails, so a count short of the length means an error.
pub(crate) fn send_all<B: IoBuf>(fd: &SharedFd, buf: B) -> Result<Op<Send<B>>, (io::Error, B)> {
    send_with(fd, buf, libc::MSG_NOSIGNAL | libc::MSG_WAITALL)
}

fn send_with<B: IoBuf>(fd: &SharedFd, buf: B, flags: i32) -> Result<Op<Send<B>>, (io::Error, B)> {
    let len = buf.bytes_init().min(u32::MAX as usize) as u32;
    let sqe = opcode::Send::new(types::Fd(fd.raw()), buf.stable_ptr(), len)
        .flags(flags)
        .build();
    // SAFETY: the `len` initialized bytes belong to `buf`, owned by the op
    // data, whose storage does not move with it (IoBuf contract); the fd share
    // keeps the socket open.
    unsafe {
        Op::submit(
            Send {
                fd: fd.clone(),
                buf,
            },
            sqe,
        )
    }
    .map_err(|(e, d)| (e, d.buf))
}
