//! Shared helpers for shardio's benches.
