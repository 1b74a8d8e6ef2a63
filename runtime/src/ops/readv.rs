use crate::buf::IoBufMut;
use crate::driver::{Completion, Op, OpDef, Orphan};
use crate::net::fd::SharedFd;
use io_uring::{opcode, types};
use std::io;

/// Scatters a read across the spare capacity of several buffers, in order.
pub(crate) struct Readv<B> {
    _fd: SharedFd,
    bufs: Vec<B>,
    /// INVARIANT: `iovecs[i]` describes the spare capacity of `bufs[i]`.
    _iovecs: Vec<libc::iovec>,
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
                let init = buf.bytes_init();
                let got = (buf.bytes_total() - init).min(left);
                // SAFETY: the kernel filled the buffers' spare capacities in
                // order; this one received `got` bytes after its prefix.
                unsafe { buf.set_init(init + got) };
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
        .map(|b| {
            let init = b.bytes_init();
            libc::iovec {
                iov_base: b.stable_mut_ptr().wrapping_add(init).cast(),
                iov_len: b.bytes_total() - init,
            }
        })
        .collect();
    let sqe = opcode::Readv::new(types::Fd(fd.raw()), iovecs.as_ptr(), iovecs.len() as u32).build();
    // SAFETY: the iovec array is a heap Vec owned by the op data (moving the
    // Vec does not move its storage); each iovec points into a buffer owned
    // by `bufs`, likewise stable; the fd share keeps the socket open.
    unsafe {
        Op::submit(
            Readv {
                _fd: fd.clone(),
                bufs,
                _iovecs: iovecs,
            },
            sqe,
        )
    }
    .map_err(|(e, d)| (e, d.bufs))
}
