//! The splice strategy: file → pipe → socket with `IORING_OP_SPLICE`.
//!
//! Each round pushes two linked splices — file pages into the pipe at an
//! explicit offset, then the pipe into the socket — so one submit moves a
//! pipe's worth of bytes. The byte counts come from the completions, never
//! from assumptions: a short fill breaks the link (the drain comes back
//! `ECANCELED` and the next round drains what is there), and a full socket
//! (`EAGAIN`, the socket is non-blocking) waits for `POLLOUT` through the
//! ring before the next round.

use crate::ops::{self, End, PipeIn, PipeOut, SendKind};
use crate::pipe::PipeLease;
use crate::stats::{self, Counters};
use shardio::net::TcpStream;
use shardio::uring::{Op, SharedFd};
use shardio::IoBuf;
use std::io;
use std::os::fd::AsFd;

/// Sends `head` (if any), then `len` bytes of `file` from `offset`.
pub(crate) async fn splice<F, B>(
    stream: &TcpStream,
    head: Option<B>,
    file: &F,
    offset: u64,
    len: u64,
) -> (io::Result<u64>, Option<B>)
where
    F: AsFd + Clone + Unpin + 'static,
    B: IoBuf,
{
    let sock = stream.shared_fd();
    // The pipe first: if none can be had, nothing has been sent.
    let lease = match len {
        0 => None,
        _ => match PipeLease::get() {
            Ok(lease) => Some(lease),
            Err(e) => return (Err(e), head),
        },
    };
    let mut head = match head {
        // Linked ahead of the first fill, with MSG_MORE: the head leaves in
        // the same segments as the body's first bytes.
        Some(h) => match ops::send(&sock, h, SendKind::Copy, libc::MSG_MORE, len > 0) {
            Ok(op) => Head::Sending(op),
            Err((e, h)) => return (Err(e), Some(h)),
        },
        None => Head::Absent,
    };
    let res = match lease {
        Some(lease) => transfer(stream, &sock, lease, &mut head, file, offset, len).await,
        None => Ok(0),
    };
    // Still in flight if there was no body, or if a push failed before the
    // first round awaited it: the head comes back either way.
    let head_res = head.finish().await;
    (res.and_then(|n| head_res.map(|()| n)), head.into_buf())
}

/// A response head sent ahead of the body.
enum Head<B: IoBuf> {
    Absent,
    /// Pushed, linked ahead of the first round.
    Sending(Op<ops::Send<B>>),
    /// Sent (or failed); the buffer is back.
    Back(B),
}

impl<B: IoBuf> Head<B> {
    /// Waits for the head's send if it is in flight.
    async fn finish(&mut self) -> io::Result<()> {
        match std::mem::replace(self, Head::Absent) {
            Head::Sending(op) => {
                let (res, buf) = op.await;
                *self = Head::Back(buf);
                res.map(drop)
            }
            other => {
                *self = other;
                Ok(())
            }
        }
    }

    fn into_buf(self) -> Option<B> {
        match self {
            Head::Back(buf) => Some(buf),
            Head::Absent | Head::Sending(_) => None,
        }
    }
}

async fn transfer<F, B>(
    stream: &TcpStream,
    sock: &SharedFd,
    mut lease: PipeLease,
    head: &mut Head<B>,
    file: &F,
    offset: u64,
    len: u64,
) -> io::Result<u64>
where
    F: AsFd + Clone + Unpin + 'static,
    B: IoBuf,
{
    let cap = lease.pipe().capacity() as u64;
    let end = offset + len;
    let mut read_pos = offset;
    let mut sent = 0u64;
    let flags = libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK;
    while sent < len {
        let mut fill = None;
        if lease.filled == 0 {
            let want = (end - read_pos).min(cap);
            let input = End {
                fd: file.clone(),
                offset: Some(read_pos),
            };
            let output = End {
                fd: PipeIn(lease.pipe().clone()),
                offset: None,
            };
            fill = Some((ops::splice(input, output, want as u32, flags, true)?, want));
        }
        let draining = lease.filled as u64 + fill.as_ref().map_or(0, |f| f.1);
        let more = if sent + draining < len {
            libc::SPLICE_F_MORE
        } else {
            0
        };
        let input = End {
            fd: PipeOut(lease.pipe().clone()),
            offset: None,
        };
        let output = End {
            fd: sock.clone(),
            offset: None,
        };
        let drain = ops::splice(input, output, draining as u32, flags | more, false)?;

        head.finish().await?;
        if let Some((op, _)) = fill {
            let filled = match op.await {
                Ok(0) => Err(crate::file_ended(read_pos, end)),
                other => other,
            };
            match filled {
                Ok(n) => {
                    lease.filled += n;
                    read_pos += n as u64;
                }
                Err(e) => {
                    // The failed fill broke the link: the drain completes at
                    // once (ECANCELED). Waiting for it lets the socket share
                    // go now rather than at the next reap.
                    let _ = drain.await;
                    return Err(e);
                }
            }
        }
        match drain.await {
            Ok(n) => {
                lease.filled -= n;
                sent += n as u64;
                stats::add(|c: &Counters| &c.spliced_bytes, n as u64);
            }
            Err(e) => match e.raw_os_error() {
                // The socket is full (or the link ran the drain early).
                Some(libc::EAGAIN) => stream.writable().await?,
                // A short fill broke the link: drain what is there next.
                Some(libc::ECANCELED) | Some(libc::EINTR) => {}
                _ => return Err(e),
            },
        }
    }
    Ok(len)
}
