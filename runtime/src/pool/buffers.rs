//! `BufPool`: byte buffers in fixed size classes, reused through [`Pool`]s.

use super::{Overflow, Pool, PoolExhausted, Pooled};
use std::fmt;

/// A byte buffer on loan from a [`BufPool`]: a `Vec<u8>` with at least the
/// asked-for capacity, empty when handed out. It implements
/// [`IoBuf`](crate::IoBuf) and [`IoBufMut`](crate::IoBufMut), so it goes
/// straight into reads and writes.
pub type PooledBuf = Pooled<Vec<u8>>;

/// The size classes of [`BufPool::new`] and how many buffers of each it keeps.
const DEFAULT_CLASSES: [(usize, usize); 4] = [(512, 1024), (4096, 1024), (16384, 256), (65536, 64)];

/// Byte buffers in fixed size classes, one [`Pool`] per class, owned by the
/// shard that created it.
///
/// [`get(n)`](BufPool::get) hands out an empty buffer from the smallest class
/// that holds `n` bytes. Requests larger than the largest class get a fresh
/// buffer of exactly that capacity, which is dropped rather than pooled.
///
/// # Examples
///
/// ```
/// use shardio::pool::BufPool;
///
/// shardio::block_on(async {
///     let pool = BufPool::new();
///     let mut buf = pool.get(1000).unwrap();
///     assert!(buf.is_empty() && buf.capacity() >= 1000);
///     buf.extend_from_slice(b"hello");
///     // `buf` can be handed to `TcpStream::write` / `read` as it is.
/// })
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct BufPool {
    /// Sorted by size.
    classes: Vec<(usize, Pool<Vec<u8>>)>,
}

impl fmt::Debug for BufPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (size, pool) in &self.classes {
            list.entry(&(size, pool.free(), pool.live()));
        }
        list.finish()
    }
}

impl Default for BufPool {
    fn default() -> Self {
        BufPool::new()
    }
}

/// Configures a [`BufPool`]; see [`BufPool::builder`].
#[derive(Debug, Clone, Default)]
pub struct BufPoolBuilder {
    classes: Vec<(usize, usize)>,
    overflow: Overflow,
}

impl BufPoolBuilder {
    /// Adds a class of buffers of `size` bytes, at most `capacity` of them.
    pub fn class(mut self, size: usize, capacity: usize) -> Self {
        self.classes.push((size, capacity));
        self
    }

    /// What a class does past its capacity (default [`Overflow::Allocate`]).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// Creates the pool, owned by the calling thread.
    pub fn build(mut self) -> BufPool {
        self.classes.sort_unstable();
        self.classes.dedup_by_key(|c| c.0);
        let classes = self
            .classes
            .into_iter()
            .map(|(size, capacity)| {
                let pool = Pool::builder(move || Vec::with_capacity(size))
                    .capacity(capacity)
                    .overflow(self.overflow)
                    .reset(Vec::clear)
                    .build();
                (size, pool)
            })
            .collect();
        BufPool { classes }
    }
}

impl BufPool {
    /// Classes of 512 B (1024 buffers), 4 KiB (1024), 16 KiB (256) and
    /// 64 KiB (64).
    pub fn new() -> BufPool {
        DEFAULT_CLASSES
            .iter()
            .fold(BufPool::builder(), |b, &(size, cap)| b.class(size, cap))
            .build()
    }

    /// Starts configuring a pool with no classes.
    pub fn builder() -> BufPoolBuilder {
        BufPoolBuilder::default()
    }

    /// An empty buffer with a capacity of at least `size` bytes.
    ///
    /// # Errors
    ///
    /// [`PoolExhausted`] when the class is at capacity and the pool was built
    /// with [`Overflow::Fail`].
    pub fn get(&self, size: usize) -> Result<PooledBuf, PoolExhausted> {
        match self.classes.iter().find(|(class, _)| *class >= size) {
            Some((_, pool)) => pool.get(),
            None => Ok(Pooled::unpooled(Vec::with_capacity(size))),
        }
    }

    /// The class sizes, smallest first.
    pub fn class_sizes(&self) -> impl Iterator<Item = usize> + '_ {
        self.classes.iter().map(|(size, _)| *size)
    }
}
