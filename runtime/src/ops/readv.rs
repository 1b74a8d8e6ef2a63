use crate::buf::IoBufMut;
use crate::driver::{Completion, Op, OpDef, Orphan};
use crate::net::fd::SharedFd;
use io_uring::{opcode, types};
use std::io;

/// Scatters a read across several buffers, each filled from its start, in
/// order. It is a `recvmsg`, not a `readv`: a vectored read on an
/// `O_NONBLOCK` socket would hand `EAGAIN` back instead of waiting.
pub(crate) struct Readv<B> {
    _fd: SharedFd,
    bufs: Vec<B>,
    /// INVARIANT: `iovecs[i]` describes the whole allocation of `bufs[i]`.
    _iovecs: Vec<libc::iovec>,
    /// INVARIANT: points at `_iovecs`' heap storage.
    _msg: Box<libc::msghdr>,
}

impl<B: IoBufMut> Orphan for Readv<B> {}

impl<B: IoBufMut> OpDef for Readv<B> {
    type Output = (io::Result<usize>, Vec<B>);
    fn complete(mut self, c: Completion) -> Self::Output {
        let res = c.into_result().map(|n| n as usize);
        if let Ok(n) = res {
            let mut left = n;
            for buf in &mut self.bufs {
                if left == 0 {
                    break;
                }
                let got = buf.bytes_total().min(left);
                // SAFETY: the kernel filled the buffers in order, each from
                // its start; this one received its first `got` bytes.
                unsafe { buf.set_init(got) };
                left -= got;
            }
        }
        (res, self.bufs)
    }
}

pub(crate) fn readv<B: IoBufMut>(
    fd: &SharedFd,
    mut bufs: Vec<B>,
) -> Result<Op<Readv<B>>, (io::Error, Vec<B>)> {
    let iovecs: Vec<libc::iovec> = bufs
        .iter_mut()
        .map(|b| libc::iovec {
            iov_base: b.stable_mut_ptr().cast(),
            iov_len: b.bytes_total(),
        })
        .collect();
    let mut msg = super::msghdr(&iovecs);
    let sqe = opcode::RecvMsg::new(types::Fd(fd.raw()), &mut *msg).build();
    // SAFETY: the op data owns the boxed msghdr, the iovec Vec it points at
    // and the `bufs` the iovecs point into, all heap-stable across moves;
    // its fd share keeps the socket open.
    unsafe {
        Op::submit(
            Readv {
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
