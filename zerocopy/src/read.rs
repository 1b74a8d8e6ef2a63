//! File bytes into memory through the ring (`IORING_OP_READ` at an
//! offset), for a body that must pass through user space: compressed, say.
//!
//! A read the page cache can serve completes at once; one that must go to
//! the disk is finished by the kernel's workers, and the shard runs its
//! other tasks meanwhile. A blocking `pread(2)` would stop the shard.

use shardio::uring::{opcode, types, Completion, Op, OpDef, Orphan};
use shardio::IoBufMut;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::rc::Rc;

/// Holds the file open and owns the buffer until the final completion.
struct ReadAt<B> {
    _file: Rc<File>,
    buf: B,
}

impl<B: IoBufMut> Orphan for ReadAt<B> {}

impl<B: IoBufMut> OpDef for ReadAt<B> {
    type Output = (io::Result<usize>, B);
    fn complete(mut self, c: Completion) -> Self::Output {
        let res = c.into_result().map(|n| n as usize);
        if let Ok(n) = res {
            // The kernel wrote `n` bytes at the start of the buffer, within
            // the `bytes_total()` bytes the SQE described.
            // SAFETY: this op data owns the buffer, and the op table kept it to
            // this final completion: nothing freed or moved it meanwhile.
            unsafe { self.buf.set_init(n) };
        }
        (res, self.buf)
    }
}

/// Reads up to `buf.bytes_total()` bytes of `file` at `offset` into `buf`,
/// from its start, and gives the buffer back with the count: 0 at or past
/// the end of the file, fewer than asked near it.
///
/// The op owns the buffer and a share of the file until the kernel's
/// completion, so dropping the future mid-read frees neither early: the
/// read is cancelled and both are released when it ends.
///
/// ```
/// use std::io::Write;
/// use std::rc::Rc;
///
/// shardio::block_on(async {
///     let path = std::env::temp_dir().join(format!("read-at-doc-{}", std::process::id()));
///     std::fs::File::create(&path)?.write_all(b"hello, ring")?;
///     let file = Rc::new(std::fs::File::open(&path)?);
///     std::fs::remove_file(&path)?;
///
///     let (n, buf) = shardio_zerocopy::read_at(&file, 7, Vec::with_capacity(64)).await;
///     assert_eq!(n?, 4);
///     assert_eq!(buf, b"ring");
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub async fn read_at<B: IoBufMut>(
    file: &Rc<File>,
    offset: u64,
    mut buf: B,
) -> (io::Result<usize>, B) {
    let len = buf.bytes_total().min(u32::MAX as usize) as u32;
    let ptr = buf.stable_mut_ptr();
    let sqe = opcode::Read::new(types::Fd(file.as_raw_fd()), ptr, len)
        .offset(offset)
        .build();
    let data = ReadAt {
        _file: file.clone(),
        buf,
    };
    // `ptr..ptr+len` is the buffer's whole allocation, which does not move
    // with the buffer (IoBufMut contract).
    // SAFETY: the op data owns the buffer, and its `Rc<File>` keeps the fd
    // open; the op table keeps the data to the final completion.
    let submitted = unsafe { Op::submit(data, sqe) };
    match submitted {
        Ok(op) => op.await,
        Err((e, data)) => (Err(e), data.buf),
    }
}

/// Reads exactly `len` bytes of `file` at `offset` into a new vector,
/// without stopping the shard: what the page cache holds is taken by a
/// `preadv2(RWF_NOWAIT)` that never waits (no ring round trip for a hot
/// file), and only the rest is read through the ring, as [`read_at`]
/// does ([`ZeroCopyStats::ring_reads`](crate::ZeroCopyStats::ring_reads)
/// counts those reads). The same reader as
/// [`Strategy::Copy`](crate::Strategy::Copy)'s.
///
/// # Errors
///
/// `UnexpectedEof` if the file ends before `offset + len`;
/// `InvalidInput` if that end overflows a file offset; otherwise the
/// read's error.
///
/// ```
/// use std::io::Write;
/// use std::rc::Rc;
///
/// shardio::block_on(async {
///     let path = std::env::temp_dir().join(format!("read-exact-doc-{}", std::process::id()));
///     std::fs::File::create(&path)?.write_all(b"hello, ring")?;
///     let file = Rc::new(std::fs::File::open(&path)?);
///     std::fs::remove_file(&path)?;
///
///     assert_eq!(shardio_zerocopy::read_exact_at(&file, 7, 4).await?, b"ring");
///     let short = shardio_zerocopy::read_exact_at(&file, 7, 5).await;
///     assert_eq!(short.unwrap_err().kind(), std::io::ErrorKind::UnexpectedEof);
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub async fn read_exact_at(file: &Rc<File>, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let range = crate::FileRange::shared(file, offset, len as u64);
    let end = range.end()?;
    crate::copy::read_exact_at(&range, &mut None, offset, len, end).await
}
