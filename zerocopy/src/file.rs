//! File ranges into sockets: the public entry points and the choice of
//! strategy.

use crate::{copy, sendfile, splice};
use shardio::net::TcpStream;
use shardio::uring::opcode;
use shardio::IoBuf;
use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::rc::Rc;

/// How a file range goes into a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// Pick by size from the measurements in `docs/BENCHMARKS.md`
    /// ([`Strategy::for_len`]): `sendfile(2)` for small and huge bodies,
    /// splice for the sizes between.
    #[default]
    Auto,
    /// File → pipe → socket with `IORING_OP_SPLICE`, through this shard's
    /// pipe pool (Linux 5.7+).
    Splice,
    /// `sendfile(2)` on the non-blocking socket, waiting for `POLLOUT`
    /// through the ring when it is full. A page that is not in the page
    /// cache is read from the disk inside the call, on the shard's
    /// thread: for a file that may be cold, ask [`residency`](crate::residency)
    /// first and choose [`Strategy::Copy`] when pages are missing. (A
    /// splice runs in the kernel's io_uring workers and never waits on the
    /// shard.)
    Sendfile,
    /// The file's bytes copied into a user buffer and a send through the
    /// ring: one copy (a small body leaves in the same send as its head).
    /// The baseline the others are measured against, and the way for files
    /// whose filesystem cannot splice. What the page cache holds is read by
    /// a `preadv2(RWF_NOWAIT)` that never waits; the rest through the ring
    /// (`IORING_OP_READ`), so a cold file does not stop the shard
    /// ([`ZeroCopyStats::ring_reads`](crate::ZeroCopyStats::ring_reads)
    /// counts those reads).
    Copy,
}

/// The smallest body [`Strategy::Auto`] splices; smaller ones go by
/// `sendfile(2)`.
pub const SPLICE_MIN: u64 = 256 << 10;

/// The largest body [`Strategy::Auto`] splices; larger ones go by
/// `sendfile(2)`.
pub const SPLICE_MAX: u64 = 8 << 20;

impl Strategy {
    /// What [`Strategy::Auto`] uses for a body of `len` bytes, from the
    /// measurements in `docs/BENCHMARKS.md` (loopback, page cache):
    /// `sendfile(2)` moved 4 KiB and 64 KiB bodies fastest and with the
    /// least CPU, splice through the ring 1 MiB bodies, and `sendfile(2)`
    /// again 64 MiB ones. The boundaries sit at the geometric midpoints
    /// between the measured sizes ([`SPLICE_MIN`], [`SPLICE_MAX`]). On a
    /// kernel without `IORING_OP_SPLICE`, `Auto` always uses `sendfile(2)`.
    pub fn for_len(len: u64) -> Strategy {
        if (SPLICE_MIN..=SPLICE_MAX).contains(&len) {
            Strategy::Splice
        } else {
            Strategy::Sendfile
        }
    }
}

/// Where the file comes from: borrowed for the call, or shared with the
/// caller's cache (ops in flight then hold a clone of the `Rc` instead of
/// a duplicated fd).
#[derive(Debug, Clone, Copy)]
enum Source<'a> {
    Borrowed(&'a File),
    Shared(&'a Rc<File>),
}

/// A byte range of an open file.
///
/// The file is read at explicit offsets, never through its own position,
/// so one open file can serve any number of concurrent ranges.
#[derive(Debug, Clone, Copy)]
pub struct FileRange<'a> {
    source: Source<'a>,
    offset: u64,
    len: u64,
}

impl<'a> FileRange<'a> {
    /// `len` bytes of `file` from `offset`.
    pub fn new(file: &'a File, offset: u64, len: u64) -> FileRange<'a> {
        FileRange {
            source: Source::Borrowed(file),
            offset,
            len,
        }
    }

    /// `len` bytes from `offset` of a file the caller keeps open in a cache.
    pub fn shared(file: &'a Rc<File>, offset: u64, len: u64) -> FileRange<'a> {
        FileRange {
            source: Source::Shared(file),
            offset,
            len,
        }
    }

    /// The first byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// How many bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn file(&self) -> &File {
        match self.source {
            Source::Borrowed(f) => f,
            Source::Shared(f) => f,
        }
    }

    /// The file as ops in flight may hold it: the caller's own `Rc`, or for
    /// a borrowed file a duplicate, so the caller's file may close whenever
    /// it likes.
    pub(crate) fn held(&self) -> io::Result<Rc<File>> {
        match self.source {
            Source::Shared(f) => Ok(f.clone()),
            Source::Borrowed(f) => f.try_clone().map(Rc::new),
        }
    }

    /// The range's end, checked to fit a file offset.
    pub(crate) fn end(&self) -> io::Result<u64> {
        match self.offset.checked_add(self.len) {
            Some(end) if end <= i64::MAX as u64 => Ok(end),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "file range {}+{} overflows a file offset",
                    self.offset, self.len
                ),
            )),
        }
    }
}

/// Sends `len` bytes of `file` from `offset` into `stream`, choosing the
/// strategy by size ([`Strategy::Auto`]). Returns the bytes sent: all of
/// them, or an error.
///
/// # Errors
///
/// The socket's error (`ConnectionReset`, `BrokenPipe`…), the file's, or
/// `UnexpectedEof` if the file ends before the range does (the range is
/// past the end, or the file was truncated during the transfer). After an
/// error an unknown part of the range has been sent: the connection can
/// only be closed.
///
/// ```no_run
/// use shardio::net::TcpListener;
///
/// shardio::block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:8080")?;
///     let file = std::fs::File::open("/etc/hostname")?;
///     let len = file.metadata()?.len();
///     let (stream, _) = listener.accept().await?;
///     shardio_zerocopy::send_file(&stream, &file, 0, len).await?;
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub async fn send_file(stream: &TcpStream, file: &File, offset: u64, len: u64) -> io::Result<u64> {
    send_range(stream, FileRange::new(file, offset, len), Strategy::Auto).await
}

/// [`send_file`] for a file the caller keeps open in a cache.
///
/// # Errors
///
/// As for [`send_file`].
pub async fn send_file_shared(
    stream: &TcpStream,
    file: &Rc<File>,
    offset: u64,
    len: u64,
) -> io::Result<u64> {
    send_range(stream, FileRange::shared(file, offset, len), Strategy::Auto).await
}

/// Sends `range` with `strategy`.
///
/// # Errors
///
/// As for [`send_file`]; [`Strategy::Splice`] on a kernel without
/// `IORING_OP_SPLICE` is an `Unsupported` error that names it.
pub async fn send_range(
    stream: &TcpStream,
    range: FileRange<'_>,
    strategy: Strategy,
) -> io::Result<u64> {
    send_inner::<Vec<u8>>(stream, None, range, strategy).await.0
}

/// Sends `head` (an HTTP response head, say) and then `range`, with no
/// extra round trip and without delaying small bodies:
///
/// * [`Strategy::Copy`] gathers head and body into one send;
/// * [`Strategy::Sendfile`] sends the head with `MSG_MORE`, so it leaves
///   in the same segment as the body's first bytes;
/// * [`Strategy::Splice`] links a `MSG_MORE` send of the head ahead of the
///   first splice, so both go in one submit.
///
/// Returns the body bytes sent (the head is sent whole or the call fails),
/// and `head` for reuse.
///
/// # Errors
///
/// As for [`send_range`].
pub async fn send_with_head<B: IoBuf>(
    stream: &TcpStream,
    head: B,
    range: FileRange<'_>,
    strategy: Strategy,
) -> (io::Result<u64>, B) {
    let (res, head_back) = send_inner(stream, Some(head), range, strategy).await;
    (res, head_back.expect("every strategy gives the head back"))
}

async fn send_inner<B: IoBuf>(
    stream: &TcpStream,
    head: Option<B>,
    range: FileRange<'_>,
    strategy: Strategy,
) -> (io::Result<u64>, Option<B>) {
    if let Err(e) = range.end() {
        return (Err(e), head);
    }
    let (offset, len) = (range.offset, range.len);
    let method = match Method::of(strategy, len) {
        Ok(m) => m,
        Err(e) => return (Err(e), head),
    };
    match method {
        Method::Copy => copy::copy(stream, head, &range, offset, len).await,
        Method::Sendfile => {
            if let Some(h) = &head {
                if let Err(e) = sendfile::send_bytes(stream, crate::init_bytes(h), len > 0).await {
                    return (Err(e), head);
                }
            }
            let res = sendfile::sendfile(stream, range.file().as_fd(), offset, len).await;
            (res, head)
        }
        Method::Splice => match range.held() {
            Ok(file) => splice::splice(stream, head, &file, offset, len).await,
            Err(e) => (Err(e), head),
        },
    }
}

/// A [`Strategy`] with `Auto` resolved for one body on this kernel.
enum Method {
    Splice,
    Sendfile,
    Copy,
}

impl Method {
    fn of(strategy: Strategy, len: u64) -> io::Result<Method> {
        Ok(match strategy {
            Strategy::Copy => Method::Copy,
            Strategy::Sendfile => Method::Sendfile,
            Strategy::Splice => {
                splice_supported()?;
                Method::Splice
            }
            Strategy::Auto => match Strategy::for_len(len) {
                Strategy::Splice if splice_supported().is_ok() => Method::Splice,
                _ => Method::Sendfile,
            },
        })
    }
}

fn splice_supported() -> io::Result<()> {
    if shardio::uring::is_supported(opcode::Splice::CODE)? {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this kernel's io_uring lacks IORING_OP_SPLICE (Linux 5.7+); use \
             Strategy::Sendfile",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_follows_the_measured_sizes() {
        assert_eq!(Strategy::for_len(0), Strategy::Sendfile);
        assert_eq!(Strategy::for_len(4 << 10), Strategy::Sendfile);
        assert_eq!(Strategy::for_len(64 << 10), Strategy::Sendfile);
        assert_eq!(Strategy::for_len(SPLICE_MIN - 1), Strategy::Sendfile);
        assert_eq!(Strategy::for_len(SPLICE_MIN), Strategy::Splice);
        assert_eq!(Strategy::for_len(1 << 20), Strategy::Splice);
        assert_eq!(Strategy::for_len(SPLICE_MAX), Strategy::Splice);
        assert_eq!(Strategy::for_len(SPLICE_MAX + 1), Strategy::Sendfile);
        assert_eq!(Strategy::for_len(64 << 20), Strategy::Sendfile);
    }

    #[test]
    fn overflowing_range_is_rejected_before_any_io() {
        let file = File::open("/dev/null").unwrap();
        let err = FileRange::new(&file, u64::MAX, 1).end().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(FileRange::new(&file, i64::MAX as u64, 0).end().is_ok());
        assert!(FileRange::new(&file, i64::MAX as u64, 1).end().is_err());
    }
}
