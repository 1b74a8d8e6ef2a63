//! The write deadline for file bodies: a transfer through the zero-copy path
//! is given up when the client acknowledges no new byte for a whole write
//! timeout, however long the body is.

use futures_util::future::{select, Either};
use shardio::net::TcpStream;
use std::future::Future;
use std::os::fd::AsRawFd;
use std::pin::pin;
use std::time::Duration;

/// Bytes of the stream the peer has acknowledged so far, or `None` where
/// the kernel does not report it.
fn bytes_acked(stream: &TcpStream) -> Option<u64> {
    // SAFETY: `tcp_info` is plain integers, for which all zeroes is valid.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` and `len` are live locals and `len` is `info`'s size;
    // the stream keeps the socket open while it is borrowed.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &mut len,
        )
    };
    // Kernels before 4.1 fill in less, without the field.
    let reaches = std::mem::offset_of!(libc::tcp_info, tcpi_bytes_acked) + 8;
    (rc == 0 && len as usize >= reaches).then_some(info.tcpi_bytes_acked)
}

/// Runs `send` until it finishes, or until `stall` passes with no byte
/// acknowledged by the client: then `send` is dropped (which cancels its
/// ops safely) and the result is `None`. On a kernel that does not report
/// acknowledged bytes there is no deadline.
pub(super) async fn unless_stalled<F: Future>(
    stream: &TcpStream,
    stall: Duration,
    send: F,
) -> Option<F::Output> {
    let watchdog = async {
        // Without the counter there is nothing to watch: no deadline.
        let Some(mut last) = bytes_acked(stream) else {
            return std::future::pending().await;
        };
        loop {
            shardio::time::sleep(stall).await;
            match bytes_acked(stream) {
                Some(now) if now == last => return,
                Some(now) => last = now,
                None => return std::future::pending().await,
            }
        }
    };
    match select(pin!(send), pin!(watchdog)).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(((), _)) => None,
    }
}
