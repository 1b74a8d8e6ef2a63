//! # shardio
//!
//! A thread-per-core network runtime for Linux built on io_uring.
//!
//! ## Why it is shaped this way
//!
//! * **One shard per core, sharing nothing.** A shard is a thread pinned to a
//!   core with its own io_uring ring, executor, timer wheel and counters. Tasks
//!   never migrate, so they need not be `Send`, and the hot path takes no
//!   lock and touches no atomic beyond its wakers. Shards talk only by
//!   messages; the kernel spreads connections across them (`SO_REUSEPORT`).
//! * **Completion-based I/O with owned buffers.** The kernel fills or drains a
//!   buffer after the call that asked for it returned, so every I/O method
//!   takes its buffer by value and gives it back: `(io::Result<usize>, B)`.
//!   See [`buf`].
//! * **An op lifecycle that cannot free memory under the kernel.** Every
//!   operation owns the resources the kernel may touch until its final
//!   completion. A future dropped early hands them to the shard's op table and
//!   the op is cancelled; they are released — and any late side effect, such
//!   as an accepted fd, undone — only when the final completion arrives. An fd
//!   is closed only after the last op naming it has completed. Shutdown
//!   cancels and reaps everything before the ring goes away.
//!
//! ## Example
//!
//! ```
//! use shardio::net::{TcpListener, TcpStream};
//!
//! shardio::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let addr = listener.local_addr()?;
//!     let server = shardio::spawn(async move {
//!         let (stream, _) = listener.accept().await?;
//!         let (n, buf) = stream.read(Vec::with_capacity(64)).await;
//!         n?;
//!         let (r, _) = stream.write_all(buf).await;
//!         r
//!     });
//!     let client = TcpStream::connect(addr).await?;
//!     let (r, _) = client.write_all(b"ping".to_vec()).await;
//!     r?;
//!     let (n, buf) = client.read(Vec::with_capacity(64)).await;
//!     assert_eq!(&buf[..n?], b"ping");
//!     server.await??;
//!     Ok::<_, std::io::Error>(())
//! })
//! .unwrap()
//! .unwrap();
//! ```
//!
//! For many shards, see [`Runtime`].

pub mod buf;
pub mod mesh;
pub mod net;
pub mod pool;
pub mod time;
pub mod uring;

mod blocking;
mod driver;
mod executor;
mod ops;
mod runtime;
mod shard;
mod shutdown;
mod stats;

pub use blocking::{spawn_blocking, Blocking};
pub use buf::{IoBuf, IoBufMut, Slice};
pub use driver::RingMode;
pub use executor::{spawn, spawn_detached, yield_now, JoinError, JoinHandle};
pub use runtime::{Builder, Runtime};
pub use shard::run::block_on;
pub use shard::{current, stats, ShardInfo};
pub use shutdown::{is_shutting_down, shutdown_signal, ShutdownHandle, ShutdownSignal};
pub use stats::ShardStats;

/// Submits a no-op to the ring and waits for its completion: the cost of one
/// op round trip through the shard (used by the benchmarks).
///
/// # Errors
///
/// Fails outside a shard.
pub async fn nop() -> std::io::Result<()> {
    ops::nop()?.await
}
