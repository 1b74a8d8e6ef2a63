use crate::buf::IoBuf;
use crate::driver::{Completion, Op, OpDef, Orphan};
use crate::net::fd::SharedFd;
use io_uring::{opcode, types};
use std::io;

/// Gathers the initialized bytes of several buffers into one write. It is a
/// `sendmsg` (with `MSG_NOSIGNAL`), not a `writev`: a vectored write on an
/// `O_NONBLOCK` socket would hand `EAGAIN` back instead of waiting.
pub(crate) struct Writev<B> {
    _fd: SharedFd,
    bufs: Vec<B>,
    /// INVARIANT: `iovecs[i]` describes the initialized bytes of `bufs[i]`.
    _iovecs: Vec<libc::iovec>,
    /// INVARIANT: points at `_iovecs`' heap storage.
    _msg: Box<libc::msghdr>,
}

impl<B: IoBuf> Orphan for Writev<B> {}

impl<B: IoBuf> OpDef for Writev<B> {
    type Output = (io::Result<usize>, Vec<B>);
    fn complete(self, c: Completion) -> Self::Output {
        (c.into_result().map(|n| n as usize), self.bufs)
    }
}

pub(crate) fn writev<B: IoBuf>(
    fd: &SharedFd,
    bufs: Vec<B>,
) -> Result<Op<Writev<B>>, (io::Error, Vec<B>)> {
    let iovecs: Vec<libc::iovec> = bufs
        .iter()
        .map(|b| libc::iovec {
            iov_base: b.stable_ptr().cast_mut().cast(),
            iov_len: b.bytes_init(),
        })
        .collect();
    let msg = super::msghdr(&iovecs);
    let sqe = opcode::SendMsg::new(types::Fd(fd.raw()), &*msg)
        .flags(libc::MSG_NOSIGNAL as u32)
        .build();
    // SAFETY: the boxed msghdr, the iovec array it points at and every
    // buffer the iovecs point into are owned by the op data and heap-stable;
    // the kernel only reads through them; the fd share keeps the socket open.
    unsafe {
        Op::submit(
            Writev {
                _fd: fd.clone(),
                bufs,
                _iovecs: iovecs,
                _msg: msg,
            },
            sqe,
        )
    }
    .map_err(|(e, d)| (e, d.bufs))
}
