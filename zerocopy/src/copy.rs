//! The read-and-write strategy: file bytes are copied into a user buffer
//! and sent through the ring. One copy, but for small bodies the head and
//! the body leave in one send.
//!
//! What the page cache holds is read with one system call that never
//! waits (`RWF_NOWAIT`); the rest goes through the ring
//! (`IORING_OP_READ`, as [`read_at`](crate::read_at)), whose workers wait
//! for the disk, so a cold file does not stop the shard's other
//! connections.

use crate::stats::{self, Counters};
use crate::FileRange;
use shardio::net::TcpStream;
use shardio::IoBuf;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::rc::Rc;

/// The buffer size for bodies larger than one buffer.
const CHUNK: usize = 256 << 10;

/// Reads `want` bytes at `offset` into a new buffer. The file ending
/// first is an error: the range promised more.
///
/// Each round first asks for what the page cache holds, without waiting
/// (`preadv2` with `RWF_NOWAIT`, a plain system call: the cheapest way to
/// a hot file's bytes). Only what must come from the disk is read through
/// the ring, so a cold file never stops the shard. The ring's read holds
/// the file in `held`, made the first time one is needed (for a borrowed
/// file, a duplicate), so a hot file costs no `dup`.
pub(crate) async fn read_exact_at(
    range: &FileRange<'_>,
    held: &mut Option<Rc<File>>,
    offset: u64,
    want: usize,
    end: u64,
) -> io::Result<Vec<u8>> {
    let mut buf: Vec<u8> = Vec::with_capacity(want);
    while buf.len() < want {
        let at = offset + buf.len() as u64;
        let n = match read_cached(range.file(), at, &mut buf, want) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if waits_for_disk(&e) => {
                // The next bytes are not cached (or this kernel cannot tell
                // without waiting): the ring reads them into the capacity
                // after what is there.
                stats::add(|c: &Counters| &c.ring_reads, 1);
                let file = match held {
                    Some(file) => file,
                    None => held.insert(range.held()?),
                };
                let start = buf.len();
                let (n, tail) = crate::read_at(file, at, buf.slice(start..want)).await;
                buf = tail.into_inner();
                match n {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Err(crate::file_ended(at, end));
        }
    }
    Ok(buf)
}

/// Appends to `buf`, up to `want` bytes in all, what the page cache holds
/// of the file at `at`, without waiting for the disk.
fn read_cached(file: &File, at: u64, buf: &mut Vec<u8>, want: usize) -> io::Result<usize> {
    let spare = want - buf.len();
    let iov = libc::iovec {
        // SAFETY: `buf.len() + spare == want <= capacity`: the pointer stays
        // inside the allocation.
        iov_base: unsafe { buf.as_mut_ptr().add(buf.len()) }.cast(),
        iov_len: spare,
    };
    // SAFETY: the iovec names the uninitialised tail of `buf`, which the
    // `&mut` keeps alive and unmoved for the call; the file is borrowed for
    // it. The kernel writes at most `spare` bytes there.
    let n = unsafe {
        libc::preadv2(
            file.as_raw_fd(),
            &iov,
            1,
            at as libc::off_t,
            libc::RWF_NOWAIT,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: preadv2 initialised the next `n` bytes of the tail.
    unsafe { buf.set_len(buf.len() + n as usize) };
    Ok(n as usize)
}

/// Whether a `RWF_NOWAIT` read failed because the bytes must come from the
/// disk (`EAGAIN`), or because this kernel or filesystem does not take the
/// flag (`EOPNOTSUPP`, `EINVAL`): either way, the ring's read does it.
fn waits_for_disk(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAGAIN | libc::EOPNOTSUPP | libc::EINVAL)
    )
}

/// Sends `head` (if any) and `len` bytes of `file` from `offset`.
pub(crate) async fn copy<B: IoBuf>(
    stream: &TcpStream,
    mut head: Option<B>,
    range: &FileRange<'_>,
    offset: u64,
    len: u64,
) -> (io::Result<u64>, Option<B>) {
    let end = offset + len;
    let mut pos = offset;
    let mut head_sent = None;
    let mut held = None;
    while pos < end {
        let want = (end - pos).min(CHUNK as u64) as usize;
        let body = match read_exact_at(range, &mut held, pos, want, end).await {
            Ok(body) => body,
            Err(e) => return (Err(e), head.or(head_sent)),
        };
        let res = match head.take() {
            Some(h) => {
                let (res, h) = write_head_and_body(stream, h, body).await;
                head_sent = Some(h);
                res
            }
            None => stream.write_all(body).await.0,
        };
        if let Err(e) = res {
            return (Err(e), head_sent);
        }
        stats::add(|c: &Counters| &c.copied_bytes, want as u64);
        pos += want as u64;
    }
    match head {
        // An empty range: the head goes alone.
        Some(h) => {
            let (res, h) = stream.write_all(h).await;
            (res.map(|()| 0), Some(h))
        }
        None => (Ok(len), head_sent),
    }
}

/// The two parts of one gathered write.
enum Part<B> {
    Head(B),
    Body(Vec<u8>),
}

// SAFETY: each variant forwards to an `IoBuf` whose contract it inherits;
// the enum never changes variant while a pointer is out.
unsafe impl<B: IoBuf> IoBuf for Part<B> {
    fn stable_ptr(&self) -> *const u8 {
        match self {
            Part::Head(b) => b.stable_ptr(),
            Part::Body(b) => b.stable_ptr(),
        }
    }
    fn bytes_init(&self) -> usize {
        match self {
            Part::Head(b) => b.bytes_init(),
            Part::Body(b) => b.bytes_init(),
        }
    }
    fn bytes_total(&self) -> usize {
        match self {
            Part::Head(b) => b.bytes_total(),
            Part::Body(b) => b.bytes_total(),
        }
    }
}

/// Writes `head` and `body` with one gathered send, finishing a partial
/// one with plain sends.
async fn write_head_and_body<B: IoBuf>(
    stream: &TcpStream,
    head: B,
    body: Vec<u8>,
) -> (io::Result<()>, B) {
    let (res, mut parts) = stream
        .writev(vec![Part::Head(head), Part::Body(body)])
        .await;
    let (Some(Part::Body(body)), Some(Part::Head(head))) = (parts.pop(), parts.pop()) else {
        unreachable!("writev returns the parts it was given, in order");
    };
    let n = match res {
        Ok(0) => return (Err(io::ErrorKind::WriteZero.into()), head),
        Ok(n) => n,
        Err(e) => return (Err(e), head),
    };
    let head_len = head.bytes_init();
    let (head, n) = if n < head_len {
        let (res, rest) = stream.write_all(head.slice(n..)).await;
        if let Err(e) = res {
            return (Err(e), rest.into_inner());
        }
        (rest.into_inner(), head_len)
    } else {
        (head, n)
    };
    let done = n - head_len;
    if done < body.len() {
        let (res, _) = stream.write_all(body.slice(done..)).await;
        return (res, head);
    }
    (Ok(()), head)
}
