//! `Mesh<T>`: typed messages between the shards of a runtime.

use super::lanes::Lanes;
use crate::shard::Shard;
use crate::stats::Counters;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::sync::Arc;

/// A typed channel between every pair of shards: each shard can send to
/// any shard (itself included) and receive from all of them.
///
/// Each (sender, receiver) pair has its own bounded lock-free lane of
/// `capacity` messages; a sender that finds its lane full waits (it does
/// not spin) until the receiver makes room. A receiving shard sleeps in its
/// ring until a message arrives; the sender's wakeup cannot be lost, even
/// when it races with the receiver going to sleep.
///
/// Create one before [`Runtime::run`](crate::Runtime::run) and move a clone
/// into each shard. Only one task per shard should receive.
///
/// # Examples
///
/// ```
/// use shardio::mesh::Mesh;
///
/// let mesh = Mesh::<String>::new(2, 64);
/// shardio::Runtime::builder()
///     .shards(2)
///     .pin_to_cores(false)
///     .build()?
///     .run(move |shard| {
///         let mesh = mesh.clone();
///         async move {
///             if shard.id() == 0 {
///                 mesh.send_to(1, "hello".to_owned()).await?;
///             } else {
///                 let (from, msg) = mesh.recv().await?;
///                 assert_eq!((from, msg.as_str()), (0, "hello"));
///             }
///             Ok(())
///         }
///     })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Mesh<T> {
    lanes: Arc<Lanes<T>>,
}

impl<T> Clone for Mesh<T> {
    fn clone(&self) -> Self {
        Mesh {
            lanes: self.lanes.clone(),
        }
    }
}

impl<T> fmt::Debug for Mesh<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.lanes.fmt(f)
    }
}

impl<T: Send> Mesh<T> {
    /// A mesh for `shards` shards, with room for `capacity` messages in
    /// flight from each shard to each other one.
    pub fn new(shards: usize, capacity: usize) -> Mesh<T> {
        Mesh {
            lanes: Arc::new(Lanes::new(shards, capacity)),
        }
    }

    /// How many shards the mesh connects.
    pub fn shards(&self) -> usize {
        self.lanes.shards()
    }

    /// The current shard, checked against the mesh.
    fn me(&self) -> io::Result<Rc<Shard>> {
        let shard = Shard::current()?;
        self.check(shard.info.id())?;
        Ok(shard)
    }

    fn check(&self, shard: usize) -> io::Result<()> {
        if shard < self.shards() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "shard {shard} is not in this mesh of {} shards",
                    self.shards()
                ),
            ))
        }
    }

    /// Sends `msg` from the current shard to shard `to`, waiting while that
    /// lane is full.
    ///
    /// # Errors
    ///
    /// Outside a shard, or if either shard is not part of the mesh (the
    /// message is dropped).
    pub async fn send_to(&self, to: usize, msg: T) -> io::Result<()> {
        let me = self.me()?;
        self.check(to)?;
        let from = me.info.id();
        let mut msg = Some(msg);
        poll_fn(|cx| self.lanes.poll_send(from, to, &mut msg, cx)).await;
        Counters::incr(&me.counters.messages_sent);
        Ok(())
    }

    /// Receives the next message for the current shard, with the index of
    /// the shard that sent it.
    ///
    /// # Errors
    ///
    /// Outside a shard, or if the shard is not part of the mesh.
    pub async fn recv(&self) -> io::Result<(usize, T)> {
        let me = self.me()?;
        let id = me.info.id();
        let got = poll_fn(|cx| self.lanes.poll_recv(id, cx)).await;
        Counters::incr(&me.counters.messages_received);
        Ok(got)
    }

    /// Takes a message for the current shard if one is queued.
    pub fn try_recv(&self) -> Option<(usize, T)> {
        let me = self.me().ok()?;
        let got = self.lanes.try_recv(me.info.id());
        if got.is_some() {
            Counters::incr(&me.counters.messages_received);
        }
        got
    }
}
