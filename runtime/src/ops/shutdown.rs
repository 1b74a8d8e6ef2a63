use crate::driver::{Completion, Op, OpDef, Orphan};
use crate::net::fd::SharedFd;
use io_uring::{opcode, types};
use std::io;

pub(crate) struct Shutdown {
    _fd: SharedFd,
}

impl Orphan for Shutdown {}

impl OpDef for Shutdown {
    type Output = io::Result<()>;
    fn complete(self, c: Completion) -> io::Result<()> {
        c.into_result().map(drop)
    }
}

pub(crate) fn shutdown(fd: &SharedFd, how: std::net::Shutdown) -> io::Result<Op<Shutdown>> {
    let how = match how {
        std::net::Shutdown::Read => libc::SHUT_RD,
        std::net::Shutdown::Write => libc::SHUT_WR,
        std::net::Shutdown::Both => libc::SHUT_RDWR,
    };
    let sqe = opcode::Shutdown::new(types::Fd(fd.raw()), how).build();
    // SAFETY: no pointers; the fd is kept open by the share the op owns.
    unsafe { Op::submit(Shutdown { _fd: fd.clone() }, sqe) }.map_err(|(e, _)| e)
}
