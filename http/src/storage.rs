//! The bytes a connection received, shared by the requests and body chunks
//! that point into them.

use shardio::buf::RingBuf;
use shardio::IoBuf;
use std::fmt;
use std::ops::Deref;
use std::rc::Rc;

/// One read's bytes: a provided buffer straight from the kernel, or, when a
/// request head spans reads, the bytes gathered on the heap.
pub(crate) enum Storage {
    Ring(RingBuf),
    Heap(Box<[u8]>),
}

impl Deref for Storage {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Storage::Ring(b) => b,
            Storage::Heap(b) => b,
        }
    }
}

/// A piece of a request body: a slice of the bytes the connection received,
/// without a copy. It derefs to the bytes, and it is an [`IoBuf`], so it can
/// be written to a socket as it is (an echo). Holding it holds the receive
/// buffer it points into; [`to_bytes`](Chunk::to_bytes) copies it out.
#[derive(Clone)]
pub struct Chunk {
    buf: Rc<Storage>,
    // INVARIANT: start <= end <= buf.len()
    start: usize,
    end: usize,
}

impl Chunk {
    pub(crate) fn new(buf: Rc<Storage>, start: usize, end: usize) -> Chunk {
        assert!(start <= end && end <= buf.len());
        Chunk { buf, start, end }
    }

    /// Copies the bytes into a [`bytes::Bytes`].
    pub fn to_bytes(&self) -> bytes::Bytes {
        bytes::Bytes::copy_from_slice(self)
    }
}

impl Deref for Chunk {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }
}

impl fmt::Debug for Chunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chunk").field("len", &self.len()).finish()
    }
}

// SAFETY: the bytes live in a ring buffer or a boxed slice that the `Rc`
// in this value keeps alive and that nothing mutates while it is shared;
// `start..end` lies inside them (INVARIANT above).
unsafe impl IoBuf for Chunk {
    fn stable_ptr(&self) -> *const u8 {
        self.buf[self.start..].as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.end - self.start
    }
    fn bytes_total(&self) -> usize {
        self.end - self.start
    }
}
