//! What both kinds of pooled handle are besides a loan: a smart pointer
//! to their object, and an I/O buffer when the object is one.

/// `Deref`, `DerefMut`, `Debug`, `IoBuf` and `IoBufMut` for a handle type
/// `$handle<T>` whose object is reached as `self.$field` (a `T` in a heap
/// box the handle owns: `obj`, or `entry.obj`).
macro_rules! handle_impls {
    ($handle:ident, $($field:ident).+) => {
        impl<T> std::ops::Deref for $handle<T> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.$($field).+
            }
        }

        impl<T> std::ops::DerefMut for $handle<T> {
            fn deref_mut(&mut self) -> &mut T {
                &mut self.$($field).+
            }
        }

        impl<T: std::fmt::Debug> std::fmt::Debug for $handle<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&self.$($field).+, f)
            }
        }

        // SAFETY: the object lives in its own heap box, which moves with the
        // handle without moving the box's contents; `T`'s own guarantees
        // (stable storage, initialized prefix) carry over unchanged.
        unsafe impl<T: $crate::buf::IoBuf> $crate::buf::IoBuf for $handle<T> {
            fn stable_ptr(&self) -> *const u8 {
                self.$($field).+.stable_ptr()
            }
            fn bytes_init(&self) -> usize {
                self.$($field).+.bytes_init()
            }
            fn bytes_total(&self) -> usize {
                self.$($field).+.bytes_total()
            }
        }

        // SAFETY: as for `IoBuf`; writes go to `T`'s storage under `T`'s
        // contract.
        unsafe impl<T: $crate::buf::IoBufMut> $crate::buf::IoBufMut for $handle<T> {
            fn stable_mut_ptr(&mut self) -> *mut u8 {
                self.$($field).+.stable_mut_ptr()
            }
            unsafe fn set_init(&mut self, pos: usize) {
                // SAFETY: forwarded from the caller's contract.
                unsafe { self.$($field).+.set_init(pos) }
            }
        }
    };
}

pub(super) use handle_impls;
