use super::fd::SharedFd;
use super::TcpStream;
use crate::driver::MultiOp;
use crate::ops::{self, AcceptMulti};
use crate::shard::Shard;
use crate::stats::Counters;
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{IntoRawFd, OwnedFd};
use std::task::{Context, Poll};

/// Default listen backlog (the kernel caps it at `net.core.somaxconn`).
const BACKLOG: i32 = 4096;

/// A TCP listener bound with SO_REUSEPORT, so every shard can bind the same
/// address and the kernel spreads incoming connections across them.
///
/// Accepting uses one multishot accept op that stays armed while the
/// listener is used: each connection costs one CQE, no new SQE. On kernels
/// without multishot accept (before 5.19) it falls back to one accept op per
/// call. Dropping the listener cancels the op; connections accepted but not
/// yet taken are closed, as is any that a late completion delivers.
pub struct TcpListener {
    fd: SharedFd,
    local: SocketAddr,
    multi: RefCell<Option<MultiOp<AcceptMulti>>>,
    /// Set when the kernel rejected multishot accept.
    single_shot: Cell<bool>,
}

impl TcpListener {
    /// Binds to `addr` with SO_REUSEADDR and SO_REUSEPORT set and a backlog
    /// of 4096 (capped by `net.core.somaxconn`). A name in `addr` is
    /// resolved on the calling thread (binding is done at start-up); to
    /// keep a shard that is already serving from waiting on DNS, resolve
    /// with [`lookup_host`](super::lookup_host) first.
    ///
    /// # Errors
    ///
    /// Fails if the address cannot be resolved or bound.
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        Self::bind_with_backlog(addr, BACKLOG)
    }

    /// Like [`bind`](Self::bind), with an explicit listen backlog.
    ///
    /// # Errors
    ///
    /// Fails if the address cannot be resolved or bound.
    pub fn bind_with_backlog(addr: impl ToSocketAddrs, backlog: i32) -> io::Result<TcpListener> {
        let mut last = None;
        for addr in super::resolve_now(addr)? {
            match bind_one(addr, backlog) {
                Ok(l) => return Ok(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no address to bind")))
    }

    /// Wraps a listener bound elsewhere.
    ///
    /// # Errors
    ///
    /// Fails if its local address cannot be read.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        let local = listener.local_addr()?;
        Ok(TcpListener::from_fd(OwnedFd::from(listener), local))
    }

    fn from_fd(fd: OwnedFd, local: SocketAddr) -> TcpListener {
        TcpListener {
            fd: SharedFd::new(fd.into_raw_fd()),
            local,
            multi: RefCell::new(None),
            single_shot: Cell::new(false),
        }
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    /// Waits for a connection.
    ///
    /// Dropping the returned future loses nothing: a connection accepted in
    /// the meantime waits for the next call.
    ///
    /// # Errors
    ///
    /// The kernel's accept error, e.g. `EMFILE` when the process is out of
    /// file descriptors. The listener stays usable: a caller that backs off
    /// and calls again recovers once descriptors are free. Each error is
    /// counted in [`ShardStats::accept_errors`](crate::ShardStats::accept_errors).
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let accepted = self.accept_inner().await;
        Shard::with_current(|s| {
            Counters::incr(match accepted {
                Ok(_) => &s.counters.connections_accepted,
                Err(_) => &s.counters.accept_errors,
            })
        });
        accepted
    }

    async fn accept_inner(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let fd = loop {
            if self.single_shot.get() {
                break ops::accept(&self.fd)?.await?;
            }
            match poll_fn(|cx| self.poll_accept_multi(cx)).await {
                Ok(fd) => break fd,
                // Multishot accept was rejected; go on in single-shot mode.
                Err(_) if self.single_shot.get() => continue,
                Err(e) => return Err(e),
            }
        };
        let stream = TcpStream::from_owned(fd);
        let peer = stream.peer_addr()?;
        Ok((stream, peer))
    }

    /// Stops the kernel from accepting on this shard's behalf until the next
    /// [`accept`](Self::accept) call; new connections wait in the listen
    /// backlog (or go to other shards' listeners) meanwhile.
    ///
    /// The multishot accept otherwise keeps accepting while nobody calls
    /// `accept`, so a server at its connection limit calls this instead of
    /// merely not accepting. Connections accepted before the pause are kept
    /// and returned by the next `accept` calls.
    pub fn pause(&self) {
        if let Some(op) = self.multi.borrow_mut().as_mut() {
            op.cancel();
        }
    }

    fn poll_accept_multi(&self, cx: &mut Context<'_>) -> Poll<io::Result<OwnedFd>> {
        let mut multi = self.multi.borrow_mut();
        loop {
            let op = match &mut *multi {
                Some(op) => op,
                None => multi.insert(ops::accept_multi(&self.fd)?),
            };
            match op.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                // The op ended (an error was reported, or the CQ overflowed):
                // arm a new one.
                Poll::Ready(None) => *multi = None,
                Poll::Ready(Some(c)) => {
                    return Poll::Ready(match c.into_result() {
                        // SAFETY: a successful accept CQE carries a new fd
                        // owned by nobody else.
                        Ok(fd) => Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd as i32) }),
                        // `pause` cancelled the op: arm a new one.
                        Err(e) if e.raw_os_error() == Some(libc::ECANCELED) => continue,
                        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                            // No multishot accept on this kernel.
                            self.single_shot.set(true);
                            Err(e)
                        }
                        Err(e) => Err(e),
                    });
                }
            }
        }
    }
}

fn bind_one(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    let local = SockRef::from(&socket)
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("bound socket has no IP address"))?;
    Ok(TcpListener::from_fd(OwnedFd::from(socket), local))
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("fd", &self.fd)
            .field("local", &self.local)
            .finish()
    }
}

impl std::os::fd::AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.raw()
    }
}
