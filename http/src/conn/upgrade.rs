//! Handing a connection over to another protocol after `101 Switching
//! Protocols` (RFC 9110 §7.8), as a WebSocket server does.
//!
//! A handler answers with [`Response::upgrade`](crate::Response::upgrade),
//! which gives it an [`OnUpgrade`]; the connection sends the `101`, stops
//! speaking HTTP and resolves that future with an [`Upgraded`]: the
//! connection's bytes from there on, the ones already received after the
//! request first.

use super::answer::Facts;
use super::halves::{self, ReadHalf, WriteHalf};
use super::Conn;
use crate::drain::Draining;
use crate::encode::{self, Length};
use crate::parse::Rejection;
use crate::response::{Response, ResponseBody};
use crate::storage::Chunk;
use futures_channel::oneshot;
use shardio::IoBuf;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// The body of a `101` response from
/// [`Response::upgrade`](crate::Response::upgrade): where the connection
/// goes once the response is sent.
pub struct Handoff {
    tx: oneshot::Sender<io::Result<Upgraded>>,
    /// The request asked to switch.
    asked: bool,
}

impl fmt::Debug for Handoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Handoff")
    }
}

impl Handoff {
    /// Tells the waiting [`OnUpgrade`] why no connection comes.
    fn fail(self, why: &'static str) {
        let _ = self.tx.send(Err(io::Error::other(why)));
    }
}

/// A handoff and the future it resolves, for a request that `asked` to
/// switch or not.
pub(crate) fn handoff(asked: bool) -> (Handoff, OnUpgrade) {
    let (tx, rx) = oneshot::channel();
    (Handoff { tx, asked }, OnUpgrade(rx))
}

/// The connection a `101` response switches, once the response is sent:
/// from [`Response::upgrade`](crate::Response::upgrade).
///
/// It fails when the connection could not switch: the request did not ask
/// to (no `Upgrade` field with a `Connection: upgrade` option, or
/// HTTP/1.0), the server is shutting down, the client went away before
/// the `101` was sent, or the response was dropped (a middleware replaced
/// it, say).
#[must_use = "the connection is closed unless the future is awaited"]
pub struct OnUpgrade(oneshot::Receiver<io::Result<Upgraded>>);

impl fmt::Debug for OnUpgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnUpgrade")
    }
}

impl Future for OnUpgrade {
    type Output = io::Result<Upgraded>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|r| {
            r.unwrap_or_else(|_| {
                Err(io::Error::other(
                    "the upgrade response was dropped before it was sent",
                ))
            })
        })
    }
}

/// A connection switched to another protocol: the bytes the client sends
/// from the `101` on, and a way to answer them, with no HTTP in between.
///
/// It keeps the connection open, and counted against the shard's maximum,
/// until it drops, which closes it. No HTTP timeout applies any more: a
/// protocol that wants one wraps [`read`](Upgraded::read), which is
/// cancel-safe, in [`shardio::time::timeout`]. A graceful shutdown waits
/// for it until its deadline, as for a request in flight;
/// [`draining`](Upgraded::draining) and
/// [`is_draining`](Upgraded::is_draining) tell the protocol to wind down.
/// `examples/upgrade.rs` does all three.
pub struct Upgraded {
    conn: Rc<Conn>,
    /// What the client sent after the upgrade request, received with it.
    early: Option<Chunk>,
}

impl fmt::Debug for Upgraded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgraded")
            .field("peer", &self.conn.peer)
            .finish()
    }
}

impl Upgraded {
    /// The next bytes from the client, in order: first any that arrived
    /// with the upgrade request, then each receive. `Ok(None)` once the
    /// client has closed its side. Holds no buffer while it waits.
    ///
    /// Cancel-safe: a read dropped before it completes (a `select!` branch
    /// that lost, a timeout) loses no bytes; the next read gets them. The
    /// connection keeps one multishot receive armed for this, in either
    /// receive mode.
    pub async fn read(&mut self) -> io::Result<Option<Chunk>> {
        halves::read(&self.conn, &mut self.early).await
    }

    /// Sends all of `buf`, and gives it back. Any [`IoBuf`] will do: a
    /// [`Chunk`] from [`read`](Upgraded::read) goes back out without a
    /// copy, and `Bytes`, `Vec<u8>` or a `&'static str` as they are.
    ///
    /// Dropped before it completes (a timeout around it, say), it has sent
    /// an unknown part of `buf`: the connection's sending ends there, so
    /// that later writes fail rather than follow a cut message. Reads go
    /// on.
    pub async fn write_all<B: IoBuf>(&self, buf: B) -> (io::Result<()>, B) {
        halves::write_all(&self.conn, buf).await
    }

    /// Stops sending: the client reads the end of the stream. Reads go on.
    pub async fn shutdown(&self) -> io::Result<()> {
        self.conn.stream.shutdown(Shutdown::Write).await
    }

    /// The client's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.conn.peer
    }

    /// Whether the server is shutting down gracefully: the protocol should
    /// finish and drop the connection before the drain's deadline.
    pub fn is_draining(&self) -> bool {
        self.conn.shared.is_draining()
    }

    /// Completes when the server begins a graceful shutdown (at once if it
    /// has). It borrows nothing, so a protocol waiting for its client can
    /// race it against [`read`](Upgraded::read), which loses no bytes when
    /// it is the one dropped, and say goodbye:
    ///
    /// ```
    /// use futures_util::future::{select, Either};
    /// use shardio_http::Upgraded;
    /// use std::pin::pin;
    ///
    /// async fn echo(mut conn: Upgraded) {
    ///     let mut draining = pin!(conn.draining());
    ///     loop {
    ///         let read = {
    ///             let read = pin!(conn.read());
    ///             match select(read, draining.as_mut()).await {
    ///                 Either::Left((read, _)) => read,
    ///                 Either::Right(_) => break,
    ///             }
    ///         };
    ///         match read {
    ///             Ok(Some(bytes)) => {
    ///                 if conn.write_all(bytes).await.0.is_err() {
    ///                     return;
    ///                 }
    ///             }
    ///             _ => return,
    ///         }
    ///     }
    ///     // The server is shutting down.
    ///     let _ = conn.write_all("going away\n").await;
    /// }
    /// ```
    pub fn draining(&self) -> Draining {
        Draining::of(self.conn.shared.clone())
    }
}

impl Upgraded {
    /// Splits the connection in two, for a protocol that reads in one task
    /// and writes in another (a server push beside a request loop, say).
    /// The connection closes when both halves have dropped.
    pub fn split(self) -> (ReadHalf, WriteHalf) {
        let write = WriteHalf {
            conn: self.conn.clone(),
        };
        let read = ReadHalf {
            conn: self.conn,
            early: self.early,
        };
        (read, write)
    }
}

impl Conn {
    /// Sends a `101` response and hands the connection to its
    /// [`OnUpgrade`], when the request asked to switch and the connection
    /// could carry on (`keep`: not closing, not draining); otherwise
    /// answers with an error that closes. Either way no more HTTP is read
    /// from the connection: `false`.
    pub(super) async fn switch(self: &Rc<Self>, res: Response, facts: Facts, keep: bool) -> bool {
        let (status, headers, body, _) = res.into_parts();
        let ResponseBody::Upgrade(handoff) = body else {
            unreachable!("only an upgrade is switched");
        };
        let refusal = if !handoff.asked {
            Some(Rejection {
                status: 500,
                reason: "upgrade answered to a request that did not ask for one",
            })
        } else if status != 101 {
            Some(Rejection {
                status: 500,
                reason: "upgrade answered with a status other than 101",
            })
        } else if !keep {
            Some(Rejection {
                status: 503,
                reason: "connection cannot be upgraded",
            })
        } else {
            None
        };
        if let Some(refusal) = refusal {
            handoff.fail(refusal.reason);
            self.reject(&refusal, facts.minor);
            return false;
        }
        encode::head(&mut self.out(), 101, &headers, Length::None, true, 1);
        if !self.flush().await {
            handoff.fail("the client went away before the upgrade was sent");
            return false;
        }
        self.out.borrow_mut().take();
        let early = {
            let mut input = self.input.borrow_mut();
            let pos = std::mem::take(&mut input.pos);
            match input.buf.take() {
                Some(buf) if pos < buf.len() => {
                    let end = buf.len();
                    Some(Chunk::new(buf, pos, end))
                }
                Some(used) => {
                    self.shared.storage.give_back(used);
                    None
                }
                None => None,
            }
        };
        // No HTTP deadline applies any more, and a drain no longer wakes it.
        self.shared.deadlines.forget(&self.deadline);
        self.body.borrow_mut().upgraded = true;
        let upgraded = Upgraded {
            conn: self.clone(),
            early,
        };
        // If nobody waits for it, it drops here and the connection closes.
        let _ = handoff.tx.send(Ok(upgraded));
        false
    }
}
