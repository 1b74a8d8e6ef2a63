//! Per-shard object and buffer pools.
//!
//! A shard's hot path should not call the allocator: per-connection and
//! per-request state, and the byte buffers that go into reads and writes,
//! come from pools owned by the shard.
//!
//! * [`Pool<T>`] keeps a bounded free list of objects, hands them out as
//!   [`Pooled<T>`] handles and takes them back when the handles drop — from
//!   any thread: a handle dropped away from home is queued (lock-free) and
//!   reclaimed by its home shard.
//! * [`LocalPool<T>`] is the same pool for state that never leaves its
//!   shard (it is not `Send` anyway): its [`LocalPooled<T>`] handles cannot
//!   cross threads, so loans and returns need no atomic operations.
//! * [`BufPool`] is a set of `Pool<Vec<u8>>` size classes whose handles are
//!   [`IoBuf`](crate::IoBuf)/[`IoBufMut`](crate::IoBufMut) buffers.
//!
//! Pool hits, misses, live handles and returns from other threads are
//! counted per shard in [`ShardStats`](crate::ShardStats).

mod buffers;
mod handle;
mod home;
mod local;
mod object;

pub use buffers::{BufPool, BufPoolBuilder, PooledBuf};
pub(crate) use home::{counts, PoolCounts};
pub use local::{LocalPool, LocalPooled};
pub use object::{Overflow, Pool, PoolBuilder, PoolExhausted, Pooled};
