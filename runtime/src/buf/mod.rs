//! Owned buffers for completion-based I/O.
//!
//! With io_uring the kernel reads from or writes into a buffer *after* the
//! call that started the operation has returned, possibly after the future
//! that asked for it was dropped. A borrowed `&mut [u8]` cannot promise that,
//! so every I/O method takes its buffer by value and hands it back with the
//! result: `(io::Result<usize>, B)`. While the operation is in flight the
//! buffer is owned by the operation (and, if its future is dropped, by the
//! shard's op table) until the kernel's final completion.
//!
//! [`IoBuf`] is the send side: an operation sends the initialized bytes.
//! [`IoBufMut`] is the receive side: an operation fills the buffer from its
//! start, up to its total capacity, and marks what it wrote initialized (a
//! `Vec`'s length becomes at least the count received). To append after what
//! a buffer already holds, receive into `buf.slice(buf.len()..)`. Both are implemented for `Vec<u8>`,
//! `Box<[u8]>` and `bytes::BytesMut`; `bytes::Bytes`, `&'static [u8]` and
//! `&'static str` implement [`IoBuf`] only. [`IoBuf::slice`] narrows any of
//! them to a sub-range without copying.

pub(crate) mod ring;
mod slice;

pub use ring::{BufRing, RingBuf};
pub use slice::Slice;

use std::ops::RangeBounds;

/// A buffer whose initialized bytes the kernel may read during an operation.
///
/// # Safety
///
/// Implementers promise that:
///
/// * the pointer returned by [`stable_ptr`](IoBuf::stable_ptr) stays valid and
///   does not move for as long as the value is not accessed mutably — moving
///   the value itself (into an op, into the op table) must not move the bytes,
///   so the storage lives on the heap or in static memory;
/// * the first [`bytes_init`](IoBuf::bytes_init) bytes behind that pointer are
///   initialized, and [`bytes_total`](IoBuf::bytes_total) bytes are allocated;
/// * `bytes_init() <= bytes_total()`.
///
/// The runtime relies on this to hand the pointer to the kernel, which may
/// read from it until the operation's final completion, long after the call
/// returned.
pub unsafe trait IoBuf: Unpin + 'static {
    /// A pointer to the start of the buffer, stable while the buffer is owned
    /// by an operation.
    fn stable_ptr(&self) -> *const u8;

    /// How many bytes, from the start, are initialized (and will be sent).
    fn bytes_init(&self) -> usize;

    /// How many bytes are allocated in total.
    fn bytes_total(&self) -> usize;

    /// Narrows the buffer to `range` (of its total capacity) without copying.
    ///
    /// # Panics
    ///
    /// Panics if the range is out of bounds of `bytes_total()` or reversed.
    fn slice(self, range: impl RangeBounds<usize>) -> Slice<Self>
    where
        Self: Sized,
    {
        Slice::new(self, range)
    }
}

/// A buffer the kernel may write into, from its start up to `bytes_total()`.
///
/// # Safety
///
/// Everything [`IoBuf`] promises, and in addition:
///
/// * [`stable_mut_ptr`](IoBufMut::stable_mut_ptr) points at the same storage
///   as `stable_ptr`, valid for writes of `bytes_total()` bytes, and stays
///   valid while the value is owned by an operation;
/// * after [`set_init(n)`](IoBufMut::set_init), `bytes_init()` reports at
///   least `n` (it never shrinks what was already initialized).
pub unsafe trait IoBufMut: IoBuf {
    /// A pointer to the start of the buffer, valid for writes of
    /// `bytes_total()` bytes.
    fn stable_mut_ptr(&mut self) -> *mut u8;

    /// Marks the first `pos` bytes as initialized.
    ///
    /// # Safety
    ///
    /// The caller must have initialized every byte in `0..pos`, and `pos` must
    /// not exceed `bytes_total()`.
    unsafe fn set_init(&mut self, pos: usize);
}

// SAFETY: a Vec's heap storage does not move when the Vec value moves; `len`
// bytes are initialized out of `capacity` allocated.
unsafe impl IoBuf for Vec<u8> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}

// SAFETY: the pointer covers `capacity` bytes of the same heap storage.
unsafe impl IoBufMut for Vec<u8> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        if self.len() < pos {
            // SAFETY: the caller initialized 0..pos and pos <= capacity.
            unsafe { self.set_len(pos) };
        }
    }
}

// SAFETY: a boxed slice is a fixed heap allocation, fully initialized.
unsafe impl IoBuf for Box<[u8]> {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: the whole boxed slice is writable and always initialized.
unsafe impl IoBufMut for Box<[u8]> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, _pos: usize) {}
}

// SAFETY: BytesMut's storage is a heap allocation that does not move with the
// handle; `len` of `capacity` bytes are initialized.
unsafe impl IoBuf for bytes::BytesMut {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.capacity()
    }
}

// SAFETY: the pointer covers `capacity` bytes of the same storage.
unsafe impl IoBufMut for bytes::BytesMut {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.as_mut_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        if self.len() < pos {
            // SAFETY: the caller initialized 0..pos and pos <= capacity.
            unsafe { self.set_len(pos) };
        }
    }
}

// SAFETY: Bytes points at immutable shared (heap or static) storage that lives
// as long as any handle to it.
unsafe impl IoBuf for bytes::Bytes {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: static memory never moves or goes away.
unsafe impl IoBuf for &'static [u8] {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

// SAFETY: static memory never moves or goes away.
unsafe impl IoBuf for &'static str {
    fn stable_ptr(&self) -> *const u8 {
        self.as_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.len()
    }
    fn bytes_total(&self) -> usize {
        self.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_reports_len_and_capacity() {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(b"abc");
        assert_eq!(v.bytes_init(), 3);
        assert!(v.bytes_total() >= 16);
        // SAFETY: bytes 3..5 are written before being marked initialized.
        unsafe {
            *v.stable_mut_ptr().add(3) = b'd';
            *v.stable_mut_ptr().add(4) = b'e';
            v.set_init(5);
        }
        assert_eq!(&v[..], b"abcde");
        // set_init never shrinks.
        // SAFETY: 0..2 is initialized.
        unsafe { v.set_init(2) };
        assert_eq!(v.len(), 5);
    }

    #[test]
    fn bytes_mut_and_static() {
        let mut b = bytes::BytesMut::with_capacity(8);
        b.extend_from_slice(b"xy");
        assert_eq!(b.bytes_init(), 2);
        let s: &'static str = "hello";
        assert_eq!(s.bytes_init(), 5);
        assert_eq!(s.bytes_total(), 5);
    }
}
