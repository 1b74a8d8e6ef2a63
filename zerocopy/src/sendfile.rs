//! The `sendfile(2)` strategy: plain syscalls on the non-blocking socket,
//! waiting for `POLLOUT` through the ring whenever the socket is full.

use crate::stats::{self, Counters};
use shardio::net::TcpStream;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// The most one `sendfile` call moves before the task yields to its
/// neighbours on the shard: a fast reader could otherwise keep one call
/// going for a whole large file.
const CHUNK: usize = 1 << 20;

/// Sends `head` with plain `send(2)` calls; `MSG_MORE` holds a partial
/// segment back for the body that follows.
pub(crate) async fn send_bytes(stream: &TcpStream, bytes: &[u8], more: bool) -> io::Result<()> {
    let flags = libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT | if more { libc::MSG_MORE } else { 0 };
    let mut done = 0;
    while done < bytes.len() {
        let rest = &bytes[done..];
        // SAFETY: `rest` is a live slice for the duration of the call; the
        // stream keeps the socket open while it is borrowed.
        let n = unsafe { libc::send(stream.as_raw_fd(), rest.as_ptr().cast(), rest.len(), flags) };
        if n >= 0 {
            done += n as usize;
            continue;
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::WouldBlock => stream.writable().await?,
            io::ErrorKind::Interrupted => {}
            _ => return Err(e),
        }
    }
    Ok(())
}

/// Sends `len` bytes of `file` from `offset` with `sendfile(2)`.
pub(crate) async fn sendfile(
    stream: &TcpStream,
    file: BorrowedFd<'_>,
    offset: u64,
    len: u64,
) -> io::Result<u64> {
    let end = offset + len;
    let mut pos = offset as libc::off_t;
    while (pos as u64) < end {
        let want = (end - pos as u64).min(CHUNK as u64) as usize;
        // SAFETY: both fds are borrowed from owners that outlive the call
        // (the caller's file, the stream); `pos` is a live local.
        let n = unsafe { libc::sendfile(stream.as_raw_fd(), file.as_raw_fd(), &mut pos, want) };
        match n {
            0 => return Err(crate::file_ended(pos as u64, end)),
            n if n > 0 => {
                stats::add(|c: &Counters| &c.sendfile_bytes, n as u64);
                if n as usize == CHUNK && (pos as u64) < end {
                    shardio::yield_now().await;
                }
            }
            _ => {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::WouldBlock => stream.writable().await?,
                    io::ErrorKind::Interrupted => {}
                    _ => return Err(e),
                }
            }
        }
    }
    Ok(len)
}
