//! The read-and-write strategy: file bytes are read into a user buffer
//! through the ring (`IORING_OP_READ`, as [`read_at`](crate::read_at)) and
//! sent through the ring. One copy, but for small bodies the head and the
//! body leave in one send.
//!
//! A read the page cache cannot serve goes to the kernel's workers, so a
//! cold file does not stop the shard's other connections.

use crate::stats::{self, Counters};
use shardio::net::TcpStream;
use shardio::IoBuf;
use std::fs::File;
use std::io;
use std::rc::Rc;

/// The buffer size for bodies larger than one buffer.
const CHUNK: usize = 256 << 10;

/// Reads `want` bytes at `offset` into a new buffer, through the ring. The
/// file ending first is an error: the range promised more.
async fn read_exact_at(file: &Rc<File>, offset: u64, want: usize, end: u64) -> io::Result<Vec<u8>> {
    let mut buf: Vec<u8> = Vec::with_capacity(want);
    while buf.len() < want {
        let at = offset + buf.len() as u64;
        // The ring reads into the spare capacity; a short read leaves the
        // rest for the next round.
        let (n, tail) = crate::read_at(file, at, Vec::with_capacity(want - buf.len())).await;
        match n {
            Ok(0) => return Err(crate::file_ended(at, end)),
            Ok(_) if buf.is_empty() => buf = tail,
            Ok(_) => buf.extend_from_slice(&tail),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(buf)
}

/// Sends `head` (if any) and `len` bytes of `file` from `offset`.
pub(crate) async fn copy<B: IoBuf>(
    stream: &TcpStream,
    mut head: Option<B>,
    file: &Rc<File>,
    offset: u64,
    len: u64,
) -> (io::Result<u64>, Option<B>) {
    let end = offset + len;
    let mut pos = offset;
    let mut head_sent = None;
    while pos < end {
        let want = (end - pos).min(CHUNK as u64) as usize;
        let body = match read_exact_at(file, pos, want, end).await {
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
