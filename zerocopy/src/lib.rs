//! # shardio-zerocopy
//!
//! Moves file ranges and large heap buffers into sockets without copying
//! through user space (splice through a per-shard pipe pool, `sendfile(2)`,
//! and `IORING_OP_SEND_ZC`), on top of the [`shardio`] runtime.
//!
//! This crate is not implemented yet: it holds its place in the workspace
//! (see `docs/ARCHITECTURE.md`). It exports nothing.
