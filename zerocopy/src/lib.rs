//! # shardio-zerocopy
//!
//! Moves file ranges and large heap buffers into sockets without copying
//! them through user space, on top of the [`shardio`] runtime:
//!
//! * [`send_file`] / [`send_range`]: a file range into a socket by
//!   `sendfile(2)`, or by splice through the ring (file → pipe → socket,
//!   with a per-shard pipe pool), or with one copy through a user buffer
//!   for comparison. [`Strategy::Auto`] picks by size, from the
//!   measurements in `docs/BENCHMARKS.md`.
//! * [`send_with_head`]: a response head and its file body with no extra
//!   round trip (one gathered send, `MSG_MORE`, or a linked submission).
//! * [`send_zc`]: `IORING_OP_SEND_ZC` for large heap buffers; the buffer
//!   comes back once the kernel has released its pages.
//! * [`read_at`]: file bytes into memory through the ring
//!   (`IORING_OP_READ`), for a body that must pass through user space on
//!   its way (compressed, say) without a blocking `pread` on the shard;
//!   [`read_exact_at`]: a whole range into a vector, what the page cache
//!   holds without a ring round trip.
//! * [`stats`]: per-shard counters (bytes spliced, sendfile bytes,
//!   zero-copy sends, pipe pool size and misses).
//!
//! Every path keeps the op lifecycle of the runtime: a transfer dropped
//! half-way cancels its ops, and pipes, file duplicates and buffers are
//! released only after the kernel's last completion. A client that resets
//! mid-body costs an error, never a leaked pipe or fd.
//!
//! ```
//! use shardio::net::{TcpListener, TcpStream};
//! use std::io::Write;
//!
//! shardio::block_on(async {
//!     let mut file = tempfile_with(b"hello, zero-copy")?;
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let client = TcpStream::connect(listener.local_addr()?).await?;
//!     let (server, _) = listener.accept().await?;
//!
//!     let sent = shardio_zerocopy::send_file(&server, &file, 7, 9).await?;
//!     assert_eq!(sent, 9);
//!     let (n, buf) = client.read(Vec::with_capacity(64)).await;
//!     assert_eq!(&buf[..n?], b"zero-copy");
//!     Ok::<_, std::io::Error>(())
//! })
//! .unwrap()
//! .unwrap();
//!
//! fn tempfile_with(bytes: &[u8]) -> std::io::Result<std::fs::File> {
//!     let path = std::env::temp_dir().join(format!("zc-doc-{}", std::process::id()));
//!     let mut f = std::fs::File::create(&path)?;
//!     f.write_all(bytes)?;
//!     let f = std::fs::File::open(&path)?;
//!     std::fs::remove_file(&path)?;
//!     Ok(f)
//! }
//! ```

mod copy;
mod file;
mod ops;
mod pipe;
mod read;
mod resident;
mod send_zc;
mod sendfile;
mod splice;
mod stats;

pub use file::{
    send_file, send_file_shared, send_range, send_with_head, FileRange, Strategy, SPLICE_MAX,
    SPLICE_MIN,
};
pub use pipe::{configure_pipes, DEFAULT_MAX_IDLE_PIPES, DEFAULT_PIPE_SIZE};
pub use read::{read_at, read_exact_at};
pub use resident::{residency, Residency};
pub use send_zc::{send_zc, send_zc_all, set_zc_threshold, DEFAULT_ZC_THRESHOLD};
pub use stats::{stats, ZeroCopyStats};

use shardio::IoBuf;
use std::io;

/// The error for a file that ended before the range did.
fn file_ended(at: u64, end: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!(
            "the file ended at byte {at}, before the range's end at byte {end}: the range \
             lies past the end of the file, or the file was truncated during the transfer"
        ),
    )
}

/// The initialized bytes of `buf`.
fn init_bytes<B: IoBuf>(buf: &B) -> &[u8] {
    // SAFETY: the IoBuf contract: `stable_ptr` points at `bytes_init`
    // initialized bytes, valid while `buf` is borrowed and not mutated.
    unsafe { std::slice::from_raw_parts(buf.stable_ptr(), buf.bytes_init()) }
}
