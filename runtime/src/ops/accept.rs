use crate::driver::{Completion, MultiOp, Op, OpDef, Orphan};
use crate::net::fd::SharedFd;
use io_uring::{opcode, types};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// Closes the fd a completed accept created, when nobody takes it.
fn close_accepted(c: &Completion) {
    if c.result >= 0 {
        // SAFETY: a successful accept CQE hands us a new fd that nothing else
        // knows about; closing it is the only thing left to do with it.
        drop(unsafe { OwnedFd::from_raw_fd(c.result) });
    }
}

/// Multishot accept: one SQE, one CQE per connection.
pub(crate) struct AcceptMulti {
    _fd: SharedFd,
}

impl Orphan for AcceptMulti {
    fn on_cqe(&mut self, c: &Completion) {
        close_accepted(c);
    }
}

pub(crate) fn accept_multi(listener: &SharedFd) -> io::Result<MultiOp<AcceptMulti>> {
    let sqe = opcode::AcceptMulti::new(types::Fd(listener.raw()))
        .flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
        .build();
    // SAFETY: multishot accept carries no pointers (no sockaddr out); the fd
    // share keeps the listener open until the final CQE.
    unsafe {
        MultiOp::submit(
            AcceptMulti {
                _fd: listener.clone(),
            },
            sqe,
        )
    }
}

/// Single-shot accept (kernels without multishot accept).
pub(crate) struct Accept {
    _fd: SharedFd,
}

impl Orphan for Accept {
    fn on_cqe(&mut self, c: &Completion) {
        close_accepted(c);
    }
}

impl OpDef for Accept {
    type Output = io::Result<OwnedFd>;
    fn complete(self, c: Completion) -> io::Result<OwnedFd> {
        let fd = c.into_result()?;
        // SAFETY: a successful accept CQE returns a new fd owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
    }
}

pub(crate) fn accept(listener: &SharedFd) -> io::Result<Op<Accept>> {
    let sqe = opcode::Accept::new(
        types::Fd(listener.raw()),
        std::ptr::null_mut(),
        std::ptr::null_mut(),
    )
    .flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
    .build();
    // SAFETY: no sockaddr out pointers are passed; the fd share keeps the
    // listener open until the final CQE.
    unsafe {
        Op::submit(
            Accept {
                _fd: listener.clone(),
            },
            sqe,
        )
    }
    .map_err(|(e, _)| e)
}
