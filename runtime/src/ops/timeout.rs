use crate::driver::{Completion, Op, OpDef, Orphan};
use io_uring::{opcode, types};
use std::io;
use std::time::Duration;

/// A kernel timer (`IORING_OP_TIMEOUT` with no completion count): fires
/// after a relative duration with the kernel's hrtimer precision.
pub(crate) struct Timeout {
    /// Boxed so its address survives moves of the op; the kernel reads it
    /// only while the SQE is prepared, but the op keeps it to the end anyway.
    _spec: Box<types::Timespec>,
}

impl Orphan for Timeout {}

impl OpDef for Timeout {
    type Output = io::Result<()>;
    fn complete(self, c: Completion) -> io::Result<()> {
        match c.result() {
            // The normal end of a pure timer is -ETIME.
            r if r == -libc::ETIME || r >= 0 => Ok(()),
            r => Err(io::Error::from_raw_os_error(-r)),
        }
    }
}

pub(crate) fn timeout(after: Duration) -> io::Result<Op<Timeout>> {
    let spec = Box::new(
        types::Timespec::new()
            .sec(after.as_secs())
            .nsec(after.subsec_nanos()),
    );
    let sqe = opcode::Timeout::new(&*spec).build();
    // SAFETY: the timespec is boxed inside the op value, which the op keeps
    // (or the op table keeps, once dropped) until the final completion.
    unsafe { Op::submit(Timeout { _spec: spec }, sqe) }.map_err(|(e, _)| e)
}
