//! Messages between shards.
//!
//! Shards share nothing but these: [`submit_to`] runs a `Send` closure on
//! another shard and returns its result as a future, and [`Mesh<T>`] is a
//! typed channel between every pair of shards. Both use one bounded
//! lock-free queue (crossbeam `ArrayQueue`) per (sender, receiver) pair —
//! the backpressure that keeps a fast shard from burying a slow one — and a
//! doorbell that wakes a sleeping target: an IORING_OP_MSG_RING from the
//! sender's ring where the kernel has it, otherwise a write to the eventfd
//! whose read is armed in the target's ring. Nothing busy-waits.

mod channel;
mod lanes;
mod submit;

pub use channel::Mesh;
pub use submit::submit_to;
pub(crate) use submit::Cluster;
