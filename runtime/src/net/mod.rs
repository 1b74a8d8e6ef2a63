//! TCP: [`TcpListener`] (SO_REUSEPORT, multishot accept) and [`TcpStream`]
//! (owned-buffer reads and writes through the ring).

pub(crate) mod fd;
mod listener;
mod recv_ring;
mod recv_stream;
mod stream;
mod write_all;

pub use listener::TcpListener;
pub use recv_ring::RecvRing;
pub use recv_stream::RecvStream;
pub use stream::TcpStream;
pub use write_all::WriteAll;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// Resolves `addr`, failing with a clear error if it names nothing.
pub(crate) fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "address resolved to nothing",
        ));
    }
    Ok(addrs)
}
