use super::{RecvRing, RecvStream, SendBehind, WriteAll};
use crate::buf::{BufRing, IoBuf, IoBufMut};
use crate::ops;
use crate::shard::Shard;
use crate::stats::Counters;
use crate::uring::SharedFd;
use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};

/// A TCP connection whose reads and writes go through the shard's ring.
///
/// The socket is in non-blocking mode (`O_NONBLOCK`), so a plain syscall made
/// on it after [`writable`](Self::writable) — `sendfile(2)`, `splice(2)` —
/// never blocks the shard; the ring's own operations wait as usual.
///
/// Every I/O method takes its buffer by value and returns it with the result
/// (see [`crate::buf`]). Methods take `&self`, so one task may read while
/// another writes. Dropping the stream never leaks the fd: it is closed once
/// the last operation that names it has completed. [`close`](Self::close)
/// does the same explicitly and reports the result.
pub struct TcpStream {
    fd: SharedFd,
}

impl TcpStream {
    pub(crate) fn from_owned(fd: OwnedFd) -> TcpStream {
        Shard::with_current(|s| Counters::incr(&s.counters.connections_open));
        TcpStream {
            fd: SharedFd::new(fd.into_raw_fd()),
        }
    }

    /// Wraps a connected std stream, switching it to non-blocking mode.
    ///
    /// # Errors
    ///
    /// The kernel's error from setting `O_NONBLOCK`.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Ok(TcpStream::from_owned(OwnedFd::from(stream)))
    }

    /// Connects to `addr`, trying each resolved address in turn. A name
    /// is resolved on the blocking pool ([`lookup_host`](super::lookup_host)),
    /// so a slow DNS server does not stop the shard; a literal address is
    /// used at once.
    ///
    /// # Errors
    ///
    /// The last connection error, or a resolution error.
    pub async fn connect<A>(addr: A) -> io::Result<TcpStream>
    where
        A: ToSocketAddrs + Send + 'static,
    {
        let mut last = None;
        for addr in super::lookup_host(addr).await? {
            match Self::connect_addr(addr).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no address to connect to")))
    }

    /// Connects to one address.
    ///
    /// # Errors
    ///
    /// The kernel's connect error (e.g. `ConnectionRefused`).
    pub async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        let stream = TcpStream::from_owned(OwnedFd::from(socket));
        ops::connect(&stream.fd, SockAddr::from(addr))?.await?;
        // Blocking until connected, so the ring's connect never sees
        // EINPROGRESS; non-blocking from here on, like accepted sockets.
        SockRef::from(&stream.fd).set_nonblocking(true)?;
        Ok(stream)
    }

    /// Reads into `buf`, from its start and up to its total capacity, and
    /// returns how many bytes arrived: they are `buf[..n]`. `Ok(0)` means the
    /// peer closed its side (or `buf` has no capacity). To append after bytes
    /// already in a `Vec`, read into `buf.slice(buf.len()..)`.
    ///
    /// If the future is dropped before the read completes the read is
    /// cancelled; bytes that arrived in that window are lost with the buffer.
    pub async fn read<B: IoBufMut>(&self, buf: B) -> (io::Result<usize>, B) {
        match ops::recv(&self.fd, buf) {
            Ok(op) => op.await,
            Err((e, buf)) => (Err(e), buf),
        }
    }

    /// The bytes arriving on this connection as a stream of buffers from the
    /// shard's default provided buffer ring ([`BufRing::shard_default`]).
    /// An idle connection waiting in a `RecvStream` holds no buffer.
    ///
    /// # Errors
    ///
    /// Outside a shard, or the default ring could not be set up (the kernel
    /// lacks provided buffer rings, or memory ran out).
    pub fn recv_stream(&self) -> io::Result<RecvStream> {
        Ok(self.recv_stream_with(&BufRing::shard_default()?))
    }

    /// Like [`recv_stream`](Self::recv_stream), with buffers from `ring`.
    pub fn recv_stream_with(&self, ring: &BufRing) -> RecvStream {
        RecvStream::new(self.fd.clone(), ring.clone())
    }

    /// Receives the next bytes into a buffer of `ring` that the kernel picks
    /// only when data arrives: a connection waiting here holds no buffer.
    /// `Ok(None)` means the peer closed its side. The buffer goes back to the
    /// ring when the [`RingBuf`](crate::buf::RingBuf) drops.
    ///
    /// When every buffer of the ring is held elsewhere, this waits until one
    /// comes back; the bytes stay in the socket meanwhile. Dropping the
    /// future cancels the receive (a buffer filled in that window goes back
    /// to the ring, its bytes lost).
    ///
    /// # Errors
    ///
    /// The kernel's receive error, e.g. `ConnectionReset`.
    pub fn recv_ring<'a>(&'a self, ring: &'a BufRing) -> RecvRing<'a> {
        RecvRing::new(&self.fd, ring.inner())
    }

    /// Writes the initialized bytes of `buf`, returning how many were sent.
    pub async fn write<B: IoBuf>(&self, buf: B) -> (io::Result<usize>, B) {
        match ops::send(&self.fd, buf) {
            Ok(op) => op.await,
            Err((e, buf)) => (Err(e), buf),
        }
    }

    /// Writes every initialized byte of `buf`.
    ///
    /// # Errors
    ///
    /// The first write error; `WriteZero` if the socket accepts no more.
    pub fn write_all<B: IoBuf>(&self, buf: B) -> WriteAll<'_, B> {
        WriteAll::new(&self.fd, buf)
    }

    /// Sends every initialized byte of `buf` without waiting: the send
    /// runs on while the task goes on, and `buf` is dropped as soon as the
    /// kernel has taken it all (or the send failed). Wait on
    /// [`SendBehind::finished`] before the next write on this socket. A
    /// send that fails, or goes out only in part, shuts the socket's
    /// sending side down, so the next write fails.
    ///
    /// This is how a request/response server saves the wakeup a finished
    /// send would cost: it answers, sends behind, and goes back to
    /// waiting for the next request.
    ///
    /// # Errors
    ///
    /// Outside a shard, or if the ring cannot take the send, the error
    /// comes back with `buf`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn answer(stream: &shardio::net::TcpStream) -> std::io::Result<()> {
    /// let behind = stream
    ///     .send_behind(b"HTTP/1.1 204 No Content\r\n\r\n".to_vec())
    ///     .map_err(|(e, _buf)| e)?;
    /// // ... wait for the next request here; then, before writing again:
    /// behind.finished().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_behind<B: IoBuf>(&self, buf: B) -> Result<SendBehind, (io::Error, B)> {
        SendBehind::start(&self.fd, buf)
    }

    /// Reads into several buffers, each from its start, filling them in order.
    pub async fn readv<B: IoBufMut>(&self, bufs: Vec<B>) -> (io::Result<usize>, Vec<B>) {
        match ops::readv(&self.fd, bufs) {
            Ok(op) => op.await,
            Err((e, bufs)) => (Err(e), bufs),
        }
    }

    /// Writes the initialized bytes of several buffers in one call.
    pub async fn writev<B: IoBuf>(&self, bufs: Vec<B>) -> (io::Result<usize>, Vec<B>) {
        match ops::writev(&self.fd, bufs) {
            Ok(op) => op.await,
            Err((e, bufs)) => (Err(e), bufs),
        }
    }

    /// Waits until the socket can take more bytes (`POLLOUT`), or has an
    /// error or hang-up to report (the next write returns it).
    ///
    /// # Errors
    ///
    /// Outside a shard, or the ring refused the poll.
    pub async fn writable(&self) -> io::Result<()> {
        ops::poll(&self.fd, libc::POLLOUT as u32)?.await.map(drop)
    }

    /// Waits until the socket has bytes to read (`POLLIN`), or an error or
    /// hang-up to report (the next read returns it).
    ///
    /// # Errors
    ///
    /// Outside a shard, or the ring refused the poll.
    pub async fn readable(&self) -> io::Result<()> {
        ops::poll(&self.fd, libc::POLLIN as u32)?.await.map(drop)
    }

    /// A share of the socket's fd, for the data of a custom operation (see
    /// [`crate::uring`]): the fd stays open while any share exists.
    pub fn shared_fd(&self) -> SharedFd {
        self.fd.clone()
    }

    /// Shuts down the read, write or both halves.
    ///
    /// # Errors
    ///
    /// The kernel's error (e.g. `NotConnected`).
    pub async fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        ops::shutdown(&self.fd, how)?.await
    }

    /// [`shutdown`](TcpStream::shutdown) at once, with `shutdown(2)`
    /// rather than through the ring: for a `Drop`, which cannot await. It
    /// closes no fd, so ops in flight on the stream stay safe; a send in
    /// flight fails from then on.
    ///
    /// # Errors
    ///
    /// The kernel's error (e.g. `NotConnected`).
    pub fn shutdown_now(&self, how: Shutdown) -> io::Result<()> {
        SockRef::from(&self.fd).shutdown(how)
    }

    /// Sets TCP_NODELAY.
    ///
    /// # Errors
    ///
    /// The kernel's error.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        SockRef::from(&self.fd).set_tcp_nodelay(nodelay)
    }

    /// Reads TCP_NODELAY.
    ///
    /// # Errors
    ///
    /// The kernel's error.
    pub fn nodelay(&self) -> io::Result<bool> {
        SockRef::from(&self.fd).tcp_nodelay()
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the peer is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        sock_ip(SockRef::from(&self.fd).peer_addr()?)
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The kernel's error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        sock_ip(SockRef::from(&self.fd).local_addr()?)
    }

    /// Closes the connection and reports the result, waiting first for every
    /// operation still using the fd (e.g. a cancelled read) to complete.
    ///
    /// # Errors
    ///
    /// The error `close(2)` reported.
    pub async fn close(self) -> io::Result<()> {
        let fd = self.fd.clone();
        drop(self);
        fd.close().await
    }
}

fn sock_ip(addr: SockAddr) -> io::Result<SocketAddr> {
    addr.as_socket()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an IP socket address"))
}

impl Drop for TcpStream {
    fn drop(&mut self) {
        Shard::with_current(|s| Counters::decr(&s.counters.connections_open));
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.raw()
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream").field("fd", &self.fd).finish()
    }
}
