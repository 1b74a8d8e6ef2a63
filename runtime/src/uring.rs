//! Custom operations: the extension point for crates that submit their own
//! io_uring operations (`shardio-zerocopy` defines splice and `SEND_ZC` this
//! way) under the same lifecycle as the runtime's own.
//!
//! An operation is a value that owns everything the kernel may touch while
//! it is in flight — buffers, boxed headers, [`SharedFd`] shares of the fds
//! it names — plus [`OpDef::complete`], which turns its final completion
//! into the output. [`Op::submit`] pushes the SQE and returns a future that
//! owns the value. If the future is dropped first, the value moves into the
//! shard's op table, the op is cancelled, and the value is dropped only
//! after the final completion; [`Orphan::on_cqe`] sees each completion that
//! arrives in the meantime, so a side effect (an fd created, a buffer
//! picked) can be undone.
//!
//! Operations with a notification (`IORING_OP_SEND_ZC`) work unchanged: the
//! op resolves with the first completion's result once the final one (the
//! notification, after which the kernel no longer reads the buffer) arrives.
//!
//! ```
//! use shardio::uring::{opcode, Completion, Op, OpDef, Orphan};
//!
//! /// A NOP as a custom operation: it owns nothing.
//! struct MyNop;
//!
//! impl Orphan for MyNop {}
//!
//! impl OpDef for MyNop {
//!     type Output = std::io::Result<u32>;
//!     fn complete(self, c: Completion) -> Self::Output {
//!         c.into_result()
//!     }
//! }
//!
//! shardio::block_on(async {
//!     assert!(shardio::uring::is_supported(opcode::Nop::CODE)?);
//!     let sqe = opcode::Nop::new().build();
//!     // SAFETY: a NOP carries no pointer and names no fd.
//!     let op = unsafe { Op::submit(MyNop, sqe) }.map_err(|(e, _)| e)?;
//!     assert_eq!(op.await?, 0);
//!     Ok::<_, std::io::Error>(())
//! })
//! .unwrap()
//! .unwrap();
//! ```

pub use crate::driver::{Completion, Op, OpDef, Orphan};
pub use crate::net::fd::SharedFd;
pub use io_uring::{opcode, squeue, types};

use crate::shard::Shard;
use std::io;

/// Whether this shard's kernel supports the opcode `code` (from the probe
/// taken when the ring was set up), e.g. `opcode::SendZc::CODE`.
///
/// # Errors
///
/// Fails outside a shard.
pub fn is_supported(code: u8) -> io::Result<bool> {
    Ok(Shard::current()?.driver.borrow().supports(code))
}
