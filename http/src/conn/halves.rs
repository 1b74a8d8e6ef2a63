//! An upgraded connection split in two
//! ([`Upgraded::split`](crate::Upgraded::split)), and the read both
//! [`Upgraded`](crate::Upgraded) and its reading half do.

use super::io::CutIfDropped;
use super::Conn;
use crate::drain::Draining;
use crate::storage::{Chunk, Storage};
use shardio::IoBuf;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;

/// What [`Upgraded::read`](crate::Upgraded::read) and [`ReadHalf::read`] do.
pub(super) async fn read(conn: &Conn, early: &mut Option<Chunk>) -> io::Result<Option<Chunk>> {
    if let Some(early) = early.take() {
        return Ok(Some(early));
    }
    // A receive of the read's own would be cancelled with it, and what the
    // kernel had put in its buffer by then lost.
    let received = poll_fn(|cx| conn.poll_stream(cx)).await;
    Ok(received?.map(|buf| {
        let len = buf.len();
        Chunk::new(conn.shared.storage.wrap(Storage::Ring(buf)), 0, len)
    }))
}

/// What [`Upgraded::write_all`](crate::Upgraded::write_all) and
/// [`WriteHalf::write_all`] do: a send given up part way ends the
/// connection's sending there, so no later write follows a cut one.
pub(super) async fn write_all<B: IoBuf>(conn: &Conn, buf: B) -> (io::Result<()>, B) {
    let cut = CutIfDropped::new(conn);
    let sent = conn.stream.write_all(buf).await;
    cut.disarm();
    sent
}

/// The reading half of an [`Upgraded`](crate::Upgraded) connection, from
/// [`Upgraded::split`](crate::Upgraded::split).
pub struct ReadHalf {
    pub(super) conn: Rc<Conn>,
    pub(super) early: Option<Chunk>,
}

impl fmt::Debug for ReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadHalf")
            .field("peer", &self.conn.peer)
            .finish()
    }
}

impl ReadHalf {
    /// As [`Upgraded::read`](crate::Upgraded::read), cancel-safe too.
    pub async fn read(&mut self) -> io::Result<Option<Chunk>> {
        read(&self.conn, &mut self.early).await
    }

    /// As [`Upgraded::draining`](crate::Upgraded::draining).
    pub fn draining(&self) -> Draining {
        Draining::of(self.conn.shared.clone())
    }

    /// As [`Upgraded::is_draining`](crate::Upgraded::is_draining).
    pub fn is_draining(&self) -> bool {
        self.conn.shared.is_draining()
    }

    /// The client's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.conn.peer
    }
}

/// The writing half of an [`Upgraded`](crate::Upgraded) connection, from
/// [`Upgraded::split`](crate::Upgraded::split). Its methods take
/// `&mut self`, so that two writes cannot interleave.
pub struct WriteHalf {
    pub(super) conn: Rc<Conn>,
}

impl fmt::Debug for WriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteHalf")
            .field("peer", &self.conn.peer)
            .finish()
    }
}

impl WriteHalf {
    /// As [`Upgraded::write_all`](crate::Upgraded::write_all): sends all
    /// of `buf` and gives it back, while the other half may be waiting in
    /// a read.
    pub async fn write_all<B: IoBuf>(&mut self, buf: B) -> (io::Result<()>, B) {
        write_all(&self.conn, buf).await
    }

    /// Stops sending: the client reads the end of the stream. The reading
    /// half goes on.
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.conn.stream.shutdown(Shutdown::Write).await
    }

    /// The client's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.conn.peer
    }
}
