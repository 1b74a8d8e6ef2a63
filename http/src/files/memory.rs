//! Small files kept in memory by the open-file cache: read once when the
//! cache opens or revalidates a file, then answered like any body in
//! memory, in the same send as their head and with no system call for
//! the file. Most of a small file's cost through `sendfile(2)` is the two
//! system calls around it (the head with `MSG_MORE`, then the file), not
//! its bytes.
//!
//! The bytes are read by `shardio_zerocopy::read_exact_at`: what the page
//! cache holds at once, the rest through the ring, so a cold file does not
//! stop the shard. They are exactly the length the metadata gave,
//! so they always match the entry's `ETag`; a file that shrank in between
//! is not kept, and is sent from the file as before.

use bytes::Bytes;
use std::fs::File;
use std::rc::Rc;

/// Files up to this many bytes are kept in memory by default: the size
/// below which a body is copied into the output buffer with its head.
pub(crate) const DEFAULT_MAX: u64 = 16 << 10;

/// The first `len` bytes of `file`, or `None` when they cannot all be
/// read (the file shrank, or the read failed: the file path reports it).
pub(crate) async fn load(file: &Rc<File>, len: u64) -> Option<Bytes> {
    let len = usize::try_from(len).ok()?;
    let bytes = shardio_zerocopy::read_exact_at(file, 0, len).await.ok()?;
    Some(Bytes::from(bytes))
}
