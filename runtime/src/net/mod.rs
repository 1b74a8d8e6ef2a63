//! TCP: [`TcpListener`] (SO_REUSEPORT, multishot accept) and [`TcpStream`]
//! (owned-buffer reads and writes through the ring).

pub(crate) mod fd;
mod listener;
mod recv_ring;
mod recv_stream;
mod resolve;
mod send_behind;
mod stream;
mod write_all;

pub use listener::TcpListener;
pub use recv_ring::RecvRing;
pub use recv_stream::RecvStream;
pub use resolve::lookup_host;
pub(crate) use resolve::resolve_now;
pub use send_behind::{Finished, SendBehind};
pub use stream::TcpStream;
pub use write_all::WriteAll;
