use crate::driver::{Completion, Op, OpDef, Orphan};
use crate::net::fd::SharedFd;
use io_uring::{opcode, types};
use socket2::SockAddr;
use std::io;

pub(crate) struct Connect {
    _fd: SharedFd,
    _addr: Box<SockAddr>,
}

impl Orphan for Connect {}

impl OpDef for Connect {
    type Output = io::Result<()>;
    fn complete(self, c: Completion) -> io::Result<()> {
        c.into_result().map(drop)
    }
}

pub(crate) fn connect(fd: &SharedFd, addr: SockAddr) -> io::Result<Op<Connect>> {
    let addr = Box::new(addr);
    let sqe = opcode::Connect::new(types::Fd(fd.raw()), addr.as_ptr().cast(), addr.len()).build();
    // SAFETY: the sockaddr lives in a box owned by the op data, so moving the
    // data does not move it; the fd share keeps the socket open.
    unsafe {
        Op::submit(
            Connect {
                _fd: fd.clone(),
                _addr: addr,
            },
            sqe,
        )
    }
    .map_err(|(e, _)| e)
}
