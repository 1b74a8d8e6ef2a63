use crate::driver::{Completion, Op, OpDef, Orphan};
use io_uring::opcode;
use std::io;

pub(crate) struct Nop;

impl Orphan for Nop {}

impl OpDef for Nop {
    type Output = io::Result<()>;
    fn complete(self, c: Completion) -> io::Result<()> {
        c.into_result().map(drop)
    }
}

pub(crate) fn nop() -> io::Result<Op<Nop>> {
    // SAFETY: a NOP carries no pointers and no fd.
    unsafe { Op::submit(Nop, opcode::Nop::new().build()) }.map_err(|(e, _)| e)
}
