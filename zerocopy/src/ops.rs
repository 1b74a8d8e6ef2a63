//! The io_uring operations this crate adds to the runtime's (through
//! [`shardio::uring`]): splice, zero-copy send, and a send with flags.

use crate::pipe::Pipe;
use shardio::uring::{opcode, squeue, types, Completion, Op, OpDef, Orphan, SharedFd};
use shardio::IoBuf;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::rc::Rc;

/// The read end of a pooled pipe, as an fd holder for an op.
pub(crate) struct PipeOut(pub(crate) Rc<Pipe>);

/// The write end of a pooled pipe, as an fd holder for an op.
pub(crate) struct PipeIn(pub(crate) Rc<Pipe>);

impl AsFd for PipeOut {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the read end stays open while the `Rc<Pipe>` lives.
        unsafe { BorrowedFd::borrow_raw(self.0.read_fd()) }
    }
}

impl AsFd for PipeIn {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the write end stays open while the `Rc<Pipe>` lives.
        unsafe { BorrowedFd::borrow_raw(self.0.write_fd()) }
    }
}

/// Holds both fds of a splice open until its final completion.
pub(crate) struct Splice<I, O> {
    _in: I,
    _out: O,
}

impl<I: 'static, O: 'static> Orphan for Splice<I, O> {}

impl<I: Unpin + 'static, O: Unpin + 'static> OpDef for Splice<I, O> {
    type Output = io::Result<usize>;
    fn complete(self, c: Completion) -> io::Result<usize> {
        c.into_result().map(|n| n as usize)
    }
}

/// One end of a splice: the fd holder and the offset (`None`: the fd's own
/// position, required for pipes and sockets).
pub(crate) struct End<H> {
    pub(crate) fd: H,
    pub(crate) offset: Option<u64>,
}

/// `splice(2)` through the ring, moving up to `len` bytes. With `link`, the
/// next SQE pushed runs only after this one completes in full.
pub(crate) fn splice<I, O>(
    input: End<I>,
    output: End<O>,
    len: u32,
    flags: u32,
    link: bool,
) -> io::Result<Op<Splice<I, O>>>
where
    I: AsFd + Unpin + 'static,
    O: AsFd + Unpin + 'static,
{
    let off = |o: Option<u64>| o.map_or(-1, |o| o as i64);
    let mut sqe = opcode::Splice::new(
        types::Fd(input.fd.as_fd().as_raw_fd()),
        off(input.offset),
        types::Fd(output.fd.as_fd().as_raw_fd()),
        off(output.offset),
        len,
    )
    .flags(flags)
    .build();
    if link {
        sqe = sqe.flags(squeue::Flags::IO_LINK);
    }
    let data = Splice {
        _in: input.fd,
        _out: output.fd,
    };
    // SAFETY: a splice carries no pointer; both fds are kept open by the
    // holders in the op data, which the op table keeps until the final CQE.
    unsafe { Op::submit(data, sqe) }.map_err(|(e, _)| e)
}

/// Sends a buffer, owning it until the kernel is done with it.
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

/// How a send goes out.
#[derive(Clone, Copy)]
pub(crate) enum SendKind {
    /// `IORING_OP_SEND`.
    Copy,
    /// `IORING_OP_SEND_ZC`: resolves only after the notification, once the
    /// kernel holds no reference to the buffer's pages.
    ZeroCopy,
}

/// Sends the initialized bytes of `buf` with `MSG_NOSIGNAL | msg_flags`.
pub(crate) fn send<B: IoBuf>(
    fd: &SharedFd,
    buf: B,
    kind: SendKind,
    msg_flags: i32,
    link: bool,
) -> Result<Op<Send<B>>, (io::Error, B)> {
    let len = buf.bytes_init().min(u32::MAX as usize) as u32;
    let flags = libc::MSG_NOSIGNAL | msg_flags;
    let target = types::Fd(fd.raw());
    let mut sqe = match kind {
        SendKind::Copy => opcode::Send::new(target, buf.stable_ptr(), len)
            .flags(flags)
            .build(),
        SendKind::ZeroCopy => opcode::SendZc::new(target, buf.stable_ptr(), len)
            .flags(flags)
            .build(),
    };
    if link {
        sqe = sqe.flags(squeue::Flags::IO_LINK);
    }
    let data = Send {
        _fd: fd.clone(),
        buf,
    };
    // For SEND_ZC the final CQE is the notification: the pages are released.
    // SAFETY: the `len` bytes belong to `buf`, owned (heap-stable) by the op
    // data, which the op table keeps until the final CQE; the fd share keeps
    // the socket open.
    unsafe { Op::submit(data, sqe) }.map_err(|(e, d)| (e, d.buf))
}
