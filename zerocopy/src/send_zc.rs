//! `IORING_OP_SEND_ZC`: the kernel sends straight from the caller's pages
//! and posts a notification once it no longer references them; the buffer
//! comes back only then.

use crate::ops::{self, SendKind};
use crate::stats::{self, Counters};
use shardio::net::TcpStream;
use shardio::uring::opcode;
use shardio::IoBuf;
use std::cell::Cell;
use std::io;

/// Below this many bytes [`send_zc`] uses a plain send: pinning pages and
/// waiting for the notification costs more than copying a small buffer.
pub const DEFAULT_ZC_THRESHOLD: usize = 64 << 10;

thread_local! {
    static THRESHOLD: Cell<usize> = const { Cell::new(DEFAULT_ZC_THRESHOLD) };
}

/// Sets this shard's [`send_zc`] threshold (default [`DEFAULT_ZC_THRESHOLD`]).
pub fn set_zc_threshold(bytes: usize) {
    THRESHOLD.with(|t| t.set(bytes));
}

fn kernel_has_send_zc() -> bool {
    shardio::uring::is_supported(opcode::SendZc::CODE).unwrap_or(false)
}

/// Sends the initialized bytes of `buf` without copying them (see the
/// module docs), returning how many were sent and the buffer, once the
/// kernel holds no reference to it. Buffers below the threshold
/// ([`set_zc_threshold`]), and kernels without `IORING_OP_SEND_ZC` (before
/// 6.0), get a plain send instead.
///
/// If the future is dropped, the buffer is kept until the notification
/// arrives and then freed.
pub async fn send_zc<B: IoBuf>(stream: &TcpStream, buf: B) -> (io::Result<usize>, B) {
    send_zc_flags(stream, buf, 0).await
}

async fn send_zc_flags<B: IoBuf>(
    stream: &TcpStream,
    buf: B,
    msg_flags: i32,
) -> (io::Result<usize>, B) {
    let zero_copy = buf.bytes_init() >= THRESHOLD.with(Cell::get) && kernel_has_send_zc();
    if !zero_copy {
        stats::add(|c: &Counters| &c.zc_fallbacks, 1);
        return stream.write(buf).await;
    }
    let sock = stream.shared_fd();
    let (res, buf) = match ops::send(&sock, buf, SendKind::ZeroCopy, msg_flags, false) {
        Ok(op) => op.await,
        Err((e, buf)) => return (Err(e), buf),
    };
    match res {
        Ok(n) => {
            stats::add(|c: &Counters| &c.zc_sends, 1);
            stats::add(|c: &Counters| &c.zc_bytes, n as u64);
            (Ok(n), buf)
        }
        // This socket cannot do zero-copy sends: copy instead.
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
            stats::add(|c: &Counters| &c.zc_fallbacks, 1);
            stream.write(buf).await
        }
        Err(e) => (Err(e), buf),
    }
}

/// [`send_zc`] until every initialized byte of `buf` is sent. The send
/// carries `MSG_WAITALL`, so the kernel itself goes on after a partial
/// send and one operation (one notification) usually covers the buffer.
///
/// # Errors
///
/// The first send error; `WriteZero` if the socket accepts no more.
pub async fn send_zc_all<B: IoBuf>(stream: &TcpStream, buf: B) -> (io::Result<()>, B) {
    let len = buf.bytes_init();
    let mut buf = buf;
    let mut done = 0;
    while done < len {
        let (res, slice) = send_zc_flags(stream, buf.slice(done..), libc::MSG_WAITALL).await;
        buf = slice.into_inner();
        match res {
            Ok(0) => return (Err(io::ErrorKind::WriteZero.into()), buf),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (Err(e), buf),
        }
    }
    (Ok(()), buf)
}
