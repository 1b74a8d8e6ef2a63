//! The bytes a connection received, shared by the requests and body chunks
//! that point into them.

use shardio::buf::RingBuf;
use shardio::IoBuf;
use std::cell::RefCell;
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

/// Emptied `Rc<Storage>` allocations, kept for the next receive.
///
/// Each burst of requests wraps its receive in an `Rc`, which the requests
/// share. With many connections busy at once, allocating and freeing it
/// missed the allocator's per-thread cache, at about 200 instructions a
/// burst; a shard's connections reuse these instead.
pub(crate) struct Spares {
    spare: RefCell<Vec<Rc<Storage>>>,
    keep: usize,
}

impl Spares {
    /// Keeps up to `keep` allocations.
    pub(crate) fn new(keep: usize) -> Spares {
        Spares {
            spare: RefCell::new(Vec::new()),
            keep,
        }
    }

    /// `storage` in a shared allocation, a kept one if there is one.
    pub(crate) fn wrap(&self, storage: Storage) -> Rc<Storage> {
        match self.spare.borrow_mut().pop() {
            Some(mut rc) => {
                // Only this list held it: `give_back` keeps unshared ones.
                *Rc::get_mut(&mut rc).expect("a spare is not shared") = storage;
                rc
            }
            None => Rc::new(storage),
        }
    }

    /// Drops this holder of `rc`. If it was the last, the bytes go now (a
    /// ring buffer back to the kernel) and the allocation is kept.
    pub(crate) fn give_back(&self, mut rc: Rc<Storage>) {
        let Some(storage) = Rc::get_mut(&mut rc) else {
            return;
        };
        *storage = Storage::Heap(Box::default());
        let mut spare = self.spare.borrow_mut();
        if spare.len() < self.keep {
            spare.push(rc);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_allocation_is_kept_only_once_no_request_holds_it() {
        let spares = Spares::new(1);
        let first = spares.wrap(Storage::Heap(b"GET /".as_slice().into()));
        let held = first.clone();
        spares.give_back(first);
        assert_eq!(&**held, b"GET /", "a request still holds it");
        let at = Rc::as_ptr(&held);
        let second = spares.wrap(Storage::Heap(b"x".as_slice().into()));
        assert_ne!(Rc::as_ptr(&second), at, "a shared allocation was reused");

        spares.give_back(held);
        // Only `keep` (one) are kept: this one is freed, not listed after
        // the first, or `wrap` would hand it out next (the last one back).
        spares.give_back(second);
        let third = spares.wrap(Storage::Heap(b"next".as_slice().into()));
        assert_eq!(Rc::as_ptr(&third), at, "the kept one is reused");
        assert_eq!(&**third, b"next");
    }
}
