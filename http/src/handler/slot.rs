//! [`FutureSlot`]: one allocation reused for the futures of the handlers
//! that answer a connection's requests (and, inside the server, for the
//! futures of a connection's bursts of requests).

use crate::response::Response;
use std::alloc::{self, Layout};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::task::{Context, Poll};

/// The smallest allocation a slot makes: most handler futures fit, so a
/// slot rarely grows twice.
const MIN_CAPACITY: usize = 128;

/// Storage for one handler future at a time, reused from one request to
/// the next.
///
/// `T` is what the futures it holds produce: a [`Response`] unless said
/// otherwise.
///
/// The server lends a slot from its shard's pool to each connection while
/// it answers a burst of requests and has each handler
/// [place](crate::Handler::call_in) its future there, so that a request
/// allocates nothing for its handler's future.
/// The memory grows to the largest future put in it and is freed with the
/// slot.
///
/// A slot is itself a future: it polls the future it holds, and drops that
/// future (in place, keeping its memory) once it completes.
///
/// # Examples
///
/// ```
/// use futures_util::FutureExt;
/// use shardio_http::{FutureSlot, Response};
///
/// let mut slot = FutureSlot::new();
/// for n in 0..3 {
///     slot.put(async move { Response::text(format!("answer {n}")) });
///     let res = (&mut slot).now_or_never().expect("ready at once");
///     assert_eq!(res.status(), 200);
/// }
/// ```
pub struct FutureSlot<T: 'static = Response> {
    /// The memory; dangling while `layout` has size zero.
    // INVARIANT: a live allocation of `layout` when `layout.size() > 0`.
    mem: NonNull<u8>,
    layout: Layout,
    /// How to poll and drop the future in `mem`; `None` when it holds none.
    // INVARIANT: when `Some`, `mem` holds a live value of the type the
    // vtable was made for, which has not moved since it was written.
    live: Live<T>,
    /// Holds `!Send` futures (and is not `Send` itself: `NonNull`).
    _futures: PhantomData<Pin<Box<dyn Future<Output = T>>>>,
}

/// What a slot needs to know about the type of the future it holds.
struct VTable<T: 'static> {
    poll: unsafe fn(NonNull<u8>, &mut Live<T>, &mut Context<'_>) -> Poll<T>,
    drop: unsafe fn(NonNull<u8>),
}

/// A slot's `live` field.
type Live<T> = Option<&'static VTable<T>>;

/// The vtable for futures of type `F`, as a constant (so a reference to it
/// is `'static`).
struct VTableOf<F>(PhantomData<F>);

impl<F: Future<Output: 'static>> VTableOf<F> {
    const VTABLE: VTable<F::Output> = VTable {
        poll: poll_in_place::<F>,
        drop: drop_in_place::<F>,
    };
}

/// Polls the `F` in `mem` and, once it completes, drops it there and sets
/// `live` to `None` (first, so that a drop that panics is not run again).
/// Dropping it here rather than in the caller lets the output be written
/// straight into the caller's place: a call between the poll and the
/// return would make the compiler keep the output aside and copy it.
///
/// # Safety
///
/// `mem` holds a live `F` that stays where it is until it is dropped, and
/// `live` is the field that says so.
unsafe fn poll_in_place<F: Future<Output: 'static>>(
    mem: NonNull<u8>,
    live: &mut Live<F::Output>,
    cx: &mut Context<'_>,
) -> Poll<F::Output> {
    let mem = mem.cast::<F>().as_ptr();
    // SAFETY: the caller guarantees `mem` holds a live `F`; the slot never
    // moves it (it is dropped in place before the memory is reused or
    // freed), so pinning it is sound.
    let out = unsafe { Pin::new_unchecked(&mut *mem) }.poll(cx);
    if out.is_ready() {
        *live = None;
        // SAFETY: `mem` holds the live `F` just polled, and `live` no
        // longer says so: nothing uses it again.
        unsafe { ptr::drop_in_place(mem) }
    }
    out
}

/// # Safety
///
/// `mem` holds a live `F`, which is not used again.
unsafe fn drop_in_place<F>(mem: NonNull<u8>) {
    // SAFETY: the caller guarantees `mem` holds a live `F` and forgets it.
    unsafe { ptr::drop_in_place(mem.cast::<F>().as_ptr()) }
}

impl FutureSlot {
    /// An empty slot for handler futures; it allocates when a future is
    /// first put in it. ([`FutureSlot::default`] makes one for futures of
    /// any output.)
    pub const fn new() -> FutureSlot {
        FutureSlot::empty()
    }
}

impl<T: 'static> FutureSlot<T> {
    const fn empty() -> FutureSlot<T> {
        FutureSlot {
            mem: NonNull::dangling(),
            layout: Layout::new::<()>(),
            live: None,
            _futures: PhantomData,
        }
    }

    /// Drops the future the slot holds, if any, and puts `fut` in its
    /// place, growing the memory if `fut` does not fit.
    pub fn put<F: Future<Output = T> + 'static>(&mut self, fut: F) {
        self.put_with(move || fut);
    }

    /// Like [`put`](FutureSlot::put), with the future made by `make` once
    /// the slot is ready for it, so that it is built where it will stay.
    ///
    /// A future is as large as the most its body holds across an `await`,
    /// but calling an async function writes only its arguments and start
    /// state. `put(f(x))` builds the whole future first and then copies
    /// all of it into the slot; `put_with(|| f(x))` writes those few
    /// words in the slot and copies nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::FutureExt;
    /// use shardio_http::{FutureSlot, Response};
    ///
    /// async fn answer(n: u32) -> Response {
    ///     Response::text(format!("answer {n}"))
    /// }
    ///
    /// let mut slot = FutureSlot::new();
    /// slot.put_with(|| answer(7));
    /// let res = (&mut slot).now_or_never().expect("ready at once");
    /// assert_eq!(res.status(), 200);
    /// ```
    #[inline]
    pub fn put_with<F, M>(&mut self, make: M)
    where
        F: Future<Output = T> + 'static,
        M: FnOnce() -> F,
    {
        self.clear();
        let need = Layout::new::<F>();
        if need.size() > self.layout.size() || need.align() > self.layout.align() {
            self.grow(need);
        }
        // `mem` now fits `F` (a zero-sized `F` needs only an aligned
        // pointer, which `grow` gives when the dangling one is not).
        let mem = self.mem.cast::<F>().as_ptr();
        // SAFETY: the slot owns `mem` (freed only in `release`), it is
        // valid for writes of `F`, and it holds no live value (cleared).
        // Should `make` panic, nothing was written and `live` stays `None`.
        unsafe { mem.write(make()) };
        self.live = Some(&VTableOf::<F>::VTABLE);
    }

    /// The bytes of memory the slot holds: the size of the largest future
    /// put in it (0 before the first, or for zero-sized futures).
    pub fn capacity(&self) -> usize {
        self.layout.size()
    }

    /// Whether the slot holds a future that has not completed.
    pub fn is_occupied(&self) -> bool {
        self.live.is_some()
    }

    /// Drops the future the slot holds, if any, keeping the memory.
    pub fn clear(&mut self) {
        // Taken first: a drop that panics is not run twice.
        if let Some(vtable) = self.live.take() {
            // SAFETY: `live` was `Some`, so `mem` holds a live value of
            // the vtable's type; it is not used again (`live` is `None`).
            unsafe { (vtable.drop)(self.mem) }
        }
    }

    /// Replaces the (empty) memory with an allocation that fits `need`.
    fn grow(&mut self, need: Layout) {
        debug_assert!(self.live.is_none());
        let layout = Layout::from_size_align(
            need.size().max(self.layout.size()).max(MIN_CAPACITY),
            need.align().max(self.layout.align()),
        )
        .expect("a future's layout is valid");
        self.release();
        // SAFETY: `layout` has a non-zero size (at least `MIN_CAPACITY`).
        let mem = unsafe { alloc::alloc(layout) };
        let Some(mem) = NonNull::new(mem) else {
            alloc::handle_alloc_error(layout);
        };
        self.mem = mem;
        self.layout = layout;
    }

    /// Frees the memory (which holds no live value).
    fn release(&mut self) {
        if self.layout.size() > 0 {
            // SAFETY: `mem` was allocated with `layout` (the invariant) and
            // holds no live value; the fields are reset just below.
            unsafe { alloc::dealloc(self.mem.as_ptr(), self.layout) };
            self.mem = NonNull::dangling();
            self.layout = Layout::new::<()>();
        }
    }
}

impl<T: 'static> Default for FutureSlot<T> {
    /// An empty slot.
    fn default() -> FutureSlot<T> {
        FutureSlot::empty()
    }
}

impl<T: 'static> Future for FutureSlot<T> {
    type Output = T;

    /// Polls the future the slot holds, dropping it once it completes.
    ///
    /// # Panics
    ///
    /// If the slot holds no future.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = &mut *self;
        let vtable = this.live.expect("polled a FutureSlot that holds no future");
        // SAFETY: `live` is `Some`, so `mem` holds a live value of the
        // vtable's type, which has not moved since it was written; the
        // poll drops it, and empties `live`, once it completes.
        unsafe { (vtable.poll)(this.mem, &mut this.live, cx) }
    }
}

impl<T: 'static> Drop for FutureSlot<T> {
    fn drop(&mut self) {
        self.clear();
        self.release();
    }
}

impl<T: 'static> fmt::Debug for FutureSlot<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FutureSlot")
            .field("capacity", &self.layout.size())
            .field("occupied", &self.is_occupied())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;
    use std::cell::Cell;
    use std::rc::Rc;

    /// Counts its drops.
    struct Tracked(Rc<Cell<u32>>);

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }

    /// Puts a future that never completes and counts its drop in `drops`.
    fn put_pending(slot: &mut FutureSlot, drops: &Rc<Cell<u32>>) {
        let t = Tracked(drops.clone());
        slot.put(async move {
            let _t = t;
            std::future::pending::<Response>().await
        });
    }

    #[test]
    fn a_completed_future_is_dropped_and_the_memory_reused() {
        let drops = Rc::new(Cell::new(0));
        let mut slot = FutureSlot::new();
        let mut first = None;
        for n in 0..4 {
            let t = Tracked(drops.clone());
            slot.put(async move {
                let _t = t;
                Response::new(200 + n)
            });
            first.get_or_insert(slot.mem);
            assert_eq!(slot.mem, first.unwrap(), "no new allocation");
            assert_eq!((&mut slot).now_or_never().unwrap().status(), 200 + n);
            assert_eq!(drops.get(), u32::from(n) + 1, "dropped on completion");
            assert!(!slot.is_occupied());
        }
    }

    #[test]
    fn a_pending_future_is_dropped_by_the_next_put_and_by_the_slot() {
        let drops = Rc::new(Cell::new(0));
        let mut slot = FutureSlot::new();
        let t = Tracked(drops.clone());
        slot.put(async move {
            let _t = t;
            std::future::pending::<()>().await;
            Response::new(200)
        });
        assert!((&mut slot).now_or_never().is_none());
        assert_eq!(drops.get(), 0);
        slot.put(async { Response::new(204) });
        assert_eq!(drops.get(), 1, "replaced");
        put_pending(&mut slot, &drops);
        drop(slot);
        assert_eq!(drops.get(), 2, "dropped with the slot");
    }

    #[test]
    fn the_slot_grows_for_a_larger_or_more_aligned_future() {
        #[repr(align(256))]
        struct Aligned([u8; 512]);
        let mut slot = FutureSlot::new();
        slot.put(async { Response::new(200) });
        let small = slot.layout;
        let big = Aligned([7; 512]);
        slot.put(async move {
            let big = big;
            assert_eq!(&big as *const Aligned as usize % 256, 0);
            Response::new(u16::from(big.0[511]) + 200)
        });
        assert!(slot.layout.size() >= 512 && slot.layout.align() >= 256);
        assert!(slot.layout.size() > small.size());
        assert_eq!((&mut slot).now_or_never().unwrap().status(), 207);
        // A zero-sized future needs no memory at all.
        struct Now;
        impl Future for Now {
            type Output = Response;
            fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Response> {
                Poll::Ready(Response::new(204))
            }
        }
        let mut empty = FutureSlot::new();
        empty.put(Now);
        assert_eq!(empty.layout.size(), 0);
        assert_eq!((&mut empty).now_or_never().unwrap().status(), 204);
    }

    #[test]
    fn put_with_builds_once_the_old_future_is_gone_and_a_panic_leaves_it_empty() {
        let drops = Rc::new(Cell::new(0));
        let mut slot = FutureSlot::new();
        put_pending(&mut slot, &drops);
        let seen = drops.clone();
        slot.put_with(|| {
            assert_eq!(seen.get(), 1, "the old future dropped before `make` runs");
            async { Response::new(201) }
        });
        assert_eq!((&mut slot).now_or_never().unwrap().status(), 201);

        put_pending(&mut slot, &drops);
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            slot.put_with(|| -> std::future::Ready<Response> { panic!("make failed") });
        }));
        assert!(unwound.is_err());
        assert_eq!(drops.get(), 2, "the old future was dropped");
        assert!(!slot.is_occupied(), "nothing half-written is live");
        slot.put(async { Response::new(202) });
        assert_eq!((&mut slot).now_or_never().unwrap().status(), 202);
    }

    #[test]
    fn a_completed_future_whose_drop_panics_is_dropped_once() {
        /// Ready at once; its drop counts, then panics.
        struct Bad(Rc<Cell<u32>>);
        impl Future for Bad {
            type Output = Response;
            fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Response> {
                Poll::Ready(Response::new(200))
            }
        }
        impl Drop for Bad {
            fn drop(&mut self) {
                self.0.set(self.0.get() + 1);
                panic!("drop failed");
            }
        }
        let drops = Rc::new(Cell::new(0));
        let mut slot = FutureSlot::new();
        slot.put(Bad(drops.clone()));
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = (&mut slot).now_or_never();
        }));
        assert!(unwound.is_err());
        assert!(!slot.is_occupied(), "emptied before the drop ran");
        slot.clear();
        slot.put(async { Response::new(203) });
        assert_eq!((&mut slot).now_or_never().unwrap().status(), 203);
        drop(slot);
        assert_eq!(
            drops.get(),
            1,
            "dropped once, not again by clear, put or drop"
        );
    }

    #[test]
    #[should_panic(expected = "holds no future")]
    fn polling_an_empty_slot_panics() {
        let _ = FutureSlot::new().now_or_never();
    }
}
