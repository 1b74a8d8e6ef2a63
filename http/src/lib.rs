//! # shardio-http
//!
//! An HTTP/1.1 server for completion-based I/O on the [`shardio`] runtime.
//!
//! This crate is not implemented yet: it holds its place in the workspace
//! (see `docs/ARCHITECTURE.md`). It exports nothing.
