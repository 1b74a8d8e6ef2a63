//! What both kinds of pooled handle are besides a loan: a smart pointer
//! to their object, and an I/O buffer when the object is one.

/// `Deref`, `DerefMut`, `Debug`, `IoBuf` and `IoBufMut` for a handle type
/// `$handle<T>` whose object is in a field `obj: ManuallyDrop<Box<T>>`.
macro_rules! handle_impls {
    ($handle:ident) => {
        impl<T> std::ops::Deref for $handle<T> {
            type Target = T;
            fn deref(&self) -> &T {
                &self.obj
            }
        }

        impl<T> std::ops::DerefMut for $handle<T> {
            fn deref_mut(&mut self) -> &mut T {
                &mut self.obj
            }
        }

        impl<T: std::fmt::Debug> std::fmt::Debug for $handle<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&**self.obj, f)
            }
        }

        // SAFETY: the object lives in its own heap box, which moves with the
        // handle without moving the box's contents; `T`'s own guarantees
        // (stable storage, initialized prefix) carry over unchanged.
        unsafe impl<T: $crate::buf::IoBuf> $crate::buf::IoBuf for $handle<T> {
            fn stable_ptr(&self) -> *const u8 {
                self.obj.stable_ptr()
            }
            fn bytes_init(&self) -> usize {
                self.obj.bytes_init()
            }
            fn bytes_total(&self) -> usize {
                self.obj.bytes_total()
            }
        }

        // SAFETY: as for `IoBuf`; writes go to `T`'s storage under `T`'s
        // contract.
        unsafe impl<T: $crate::buf::IoBufMut> $crate::buf::IoBufMut for $handle<T> {
            fn stable_mut_ptr(&mut self) -> *mut u8 {
                self.obj.stable_mut_ptr()
            }
            unsafe fn set_init(&mut self, pos: usize) {
                // SAFETY: forwarded from the caller's contract.
                unsafe { self.obj.set_init(pos) }
            }
        }
    };
}

pub(super) use handle_impls;
