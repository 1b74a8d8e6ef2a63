use crate::driver::{Completion, Op, OpDef, Orphan};
use io_uring::{opcode, types};
use std::io;
use std::os::fd::RawFd;

pub(crate) struct Close;

impl Orphan for Close {}

impl OpDef for Close {
    type Output = io::Result<()>;
    fn complete(self, c: Completion) -> io::Result<()> {
        c.into_result().map(drop)
    }
}

/// Closes `fd`, which the caller owns and no other op names.
pub(crate) fn close(fd: RawFd) -> io::Result<Op<Close>> {
    // SAFETY: no pointers; the caller hands the fd over to this op.
    unsafe { Op::submit(Close, opcode::Close::new(types::Fd(fd)).build()) }.map_err(|(e, _)| e)
}
