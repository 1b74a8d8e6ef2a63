use super::{IoBuf, IoBufMut};
use std::ops::{Bound, RangeBounds};

/// A sub-range of an owned buffer, made by [`IoBuf::slice`].
///
/// The slice owns the whole buffer; [`into_inner`](Slice::into_inner) gives it
/// back. As an [`IoBuf`] it exposes the initialized bytes inside the range; as
/// an [`IoBufMut`] it exposes the range's capacity, and writing into it extends
/// the inner buffer's initialized length.
#[derive(Debug)]
pub struct Slice<B> {
    buf: B,
    /// INVARIANT: begin <= end <= buf.bytes_total()
    begin: usize,
    end: usize,
}

impl<B: IoBuf> Slice<B> {
    pub(super) fn new(buf: B, range: impl RangeBounds<usize>) -> Self {
        let total = buf.bytes_total();
        let begin = match range.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n.checked_add(1).expect("slice start overflow"),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&n) => n.checked_add(1).expect("slice end overflow"),
            Bound::Excluded(&n) => n,
            Bound::Unbounded => total,
        };
        assert!(begin <= end, "slice range reversed: {begin}..{end}");
        assert!(end <= total, "slice end {end} past buffer capacity {total}");
        Slice { buf, begin, end }
    }

    /// Start of the range within the inner buffer.
    pub fn begin(&self) -> usize {
        self.begin
    }

    /// End (exclusive) of the range within the inner buffer.
    pub fn end(&self) -> usize {
        self.end
    }

    /// The inner buffer.
    pub fn get_ref(&self) -> &B {
        &self.buf
    }

    /// Gives the whole inner buffer back.
    pub fn into_inner(self) -> B {
        self.buf
    }
}

// SAFETY: the pointer is the inner buffer's stable pointer offset by `begin`,
// which the invariant keeps within its allocation; the initialized prefix of
// the slice is the part of the inner initialized prefix past `begin`.
unsafe impl<B: IoBuf> IoBuf for Slice<B> {
    fn stable_ptr(&self) -> *const u8 {
        self.buf.stable_ptr().wrapping_add(self.begin)
    }
    fn bytes_init(&self) -> usize {
        self.buf.bytes_init().clamp(self.begin, self.end) - self.begin
    }
    fn bytes_total(&self) -> usize {
        self.end - self.begin
    }
}

// SAFETY: same storage as the IoBuf impl; set_init translates the slice offset
// back into the inner buffer.
unsafe impl<B: IoBufMut> IoBufMut for Slice<B> {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.buf.stable_mut_ptr().wrapping_add(self.begin)
    }
    unsafe fn set_init(&mut self, pos: usize) {
        // The inner buffer tracks one initialized prefix. Bytes written into a
        // slice extend it only when the slice starts inside that prefix;
        // otherwise bytes between the prefix and `begin` are still unknown.
        if self.buf.bytes_init() >= self.begin {
            // SAFETY: the caller initialized slice bytes 0..pos, i.e. inner
            // bytes begin..begin+pos, and inner 0..begin is initialized (checked
            // above); begin+pos <= end <= bytes_total by the invariant.
            unsafe { self.buf.set_init(self.begin + pos) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_views_a_range() {
        let v = b"hello world".to_vec();
        let s = v.slice(6..);
        assert_eq!(s.bytes_init(), 5);
        assert_eq!(s.bytes_total(), s.get_ref().capacity() - 6);
        let s2 = s.into_inner().slice(..5);
        assert_eq!(s2.bytes_init(), 5);
        assert_eq!(s2.bytes_total(), 5);
    }

    #[test]
    fn slice_past_init_reports_zero() {
        let mut v = Vec::with_capacity(32);
        v.extend_from_slice(b"ab");
        let s = v.slice(10..20);
        assert_eq!(s.bytes_init(), 0);
        assert_eq!(s.bytes_total(), 10);
    }

    #[test]
    #[should_panic(expected = "past buffer capacity")]
    fn slice_out_of_bounds_panics() {
        let v: Box<[u8]> = vec![0u8; 4].into_boxed_slice();
        let _ = v.slice(0..5);
    }
}
