//! `LocalPool<T>`: a pool whose handles never leave their shard, and the
//! `LocalPooled<T>` handle that brings an object back when dropped.
//!
//! For state that is not `Send` anyway (it holds an `Rc`, or lives in a
//! connection's task), the cross-thread machinery of [`Pool`](super::Pool)
//! — an atomic reference count on every loan and return, a home check on
//! every drop — buys nothing. A local pool keeps the same free list,
//! capacity, overflow rule, reset hook and shard counters, with plain
//! reference counting.

use super::home;
use super::object::{Overflow, PoolExhausted, ResetHook};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::mem::ManuallyDrop;
use std::rc::Rc;

/// What handles reach: the free list.
struct Shared<T> {
    free: RefCell<Vec<Box<Entry<T>>>>,
    /// Pooled handles out.
    out: Cell<usize>,
    /// False once every `LocalPool` clone is gone: returns are dropped.
    open: Cell<bool>,
}

struct Owner<T> {
    shared: Rc<Shared<T>>,
    make: Box<dyn Fn() -> T>,
    reset: Option<ResetHook<T>>,
    capacity: usize,
    overflow: Overflow,
}

impl<T> Drop for Owner<T> {
    fn drop(&mut self) {
        self.shared.open.set(false);
        // Taken out before the objects drop, in case one holds a handle
        // of this pool. Each entry holds the pool's `Rc`: dropping them
        // here is also what lets `Shared` go.
        let free = std::mem::take(&mut *self.shared.free.borrow_mut());
        drop(free);
    }
}

/// A bounded pool of reusable objects whose handles stay on the shard
/// that created it: [`Pool`](super::Pool) without the cross-thread return
/// path, and so without atomic operations.
///
/// Built with [`PoolBuilder::build_local`](super::PoolBuilder::build_local);
/// capacity, [`Overflow`], the reset hook and the shard's pool counters
/// work as for `Pool`. A [`LocalPooled<T>`] is neither `Send` nor `Sync`,
/// so it can only be dropped at home: use this pool for per-connection and
/// per-request state that never crosses shards.
///
/// # Examples
///
/// ```
/// use shardio::pool::Pool;
///
/// shardio::block_on(async {
///     let pool = Pool::builder(|| Vec::<u32>::with_capacity(64))
///         .capacity(128)
///         .reset(|v| v.clear())
///         .build_local();
///     let mut v = pool.get().unwrap();
///     v.push(7);
///     drop(v); // back in the pool
///     assert_eq!(pool.free(), 1);
///     assert!(pool.get().unwrap().is_empty(), "reset before reuse");
/// })
/// .unwrap();
/// ```
pub struct LocalPool<T> {
    owner: Rc<Owner<T>>,
}

impl<T> Clone for LocalPool<T> {
    fn clone(&self) -> Self {
        LocalPool {
            owner: self.owner.clone(),
        }
    }
}

impl<T> fmt::Debug for LocalPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalPool")
            .field("capacity", &self.owner.capacity)
            .field("overflow", &self.owner.overflow)
            .field("free", &self.free())
            .field("live", &self.live())
            .finish()
    }
}

impl<T> LocalPool<T> {
    pub(super) fn new(
        prefill: usize,
        make: Box<dyn Fn() -> T>,
        reset: Option<ResetHook<T>>,
        capacity: usize,
        overflow: Overflow,
    ) -> LocalPool<T> {
        let shared = Rc::new(Shared {
            free: RefCell::new(Vec::with_capacity(prefill)),
            out: Cell::new(0),
            open: Cell::new(true),
        });
        // Each object boxed where `make` builds it, never moved after.
        shared
            .free
            .borrow_mut()
            .extend((0..prefill).map(|_| Entry::made(&*make, Some(shared.clone()))));
        LocalPool {
            owner: Rc::new(Owner {
                shared,
                make,
                reset,
                capacity,
                overflow,
            }),
        }
    }

    /// Takes an object from the pool: the most recently returned one,
    /// reset, or a new one.
    ///
    /// # Errors
    ///
    /// [`PoolExhausted`] when `capacity` objects are handed out and the
    /// pool was built with [`Overflow::Fail`].
    pub fn get(&self) -> Result<LocalPooled<T>, PoolExhausted> {
        let owner = &*self.owner;
        let shared = &owner.shared;
        let popped = shared.free.borrow_mut().pop();
        if let Some(mut entry) = popped {
            shared.out.set(shared.out.get() + 1);
            home::with(|h| {
                home::bump(&h.hits, 1);
                home::bump(&h.live, 1);
            });
            if let Some(reset) = &owner.reset {
                reset(&mut entry.obj);
            }
            return Ok(LocalPooled::new(entry));
        }
        let pooled = shared.out.get() < owner.capacity;
        if !pooled && owner.overflow == Overflow::Fail {
            return Err(PoolExhausted::new(owner.capacity));
        }
        if pooled {
            shared.out.set(shared.out.get() + 1);
        }
        home::with(|h| {
            home::bump(&h.misses, 1);
            if pooled {
                home::bump(&h.live, 1);
            }
        });
        let home = pooled.then(|| shared.clone());
        Ok(LocalPooled::new(Entry::made(&*owner.make, home)))
    }

    /// Objects waiting in the free list.
    pub fn free(&self) -> usize {
        self.owner.shared.free.borrow().len()
    }

    /// Pooled handles currently out.
    pub fn live(&self) -> usize {
        self.owner.shared.out.get()
    }

    /// The most objects this pool owns at once.
    pub fn capacity(&self) -> usize {
        self.owner.capacity
    }
}

/// An object on loan from a [`LocalPool`]; derefs to `T` and returns the
/// object to the free list when dropped.
///
/// One pointer wide: the pool the object goes back to is kept in its
/// allocation, beside it, so a handle (and what wraps one, such as a
/// request) moves as a single word.
pub struct LocalPooled<T> {
    entry: ManuallyDrop<Box<Entry<T>>>,
}

/// A pooled object and its pool, in one allocation. An entry keeps its
/// pool's `Rc` while it waits in the free list too (the pool's owner
/// empties the list when it goes), so a loan clones no `Rc`.
struct Entry<T> {
    /// `None` for an object made past capacity: dropped, not kept.
    home: Option<Rc<Shared<T>>>,
    obj: T,
}

impl<T> Entry<T> {
    fn boxed(obj: T, home: Option<Rc<Shared<T>>>) -> Box<Entry<T>> {
        Box::new(Entry { home, obj })
    }

    /// A new object from `make`, boxed (a loan past the free list, or the
    /// pool's prefill). Out of line: the object is built
    /// in this function's stack frame, and a large `T` (a 64 KiB buffer)
    /// inlined into `get` made every loan probe that frame page by page,
    /// 150 ns instead of 10 (`pools` bench).
    #[cold]
    #[inline(never)]
    fn made(make: &dyn Fn() -> T, home: Option<Rc<Shared<T>>>) -> Box<Entry<T>> {
        Entry::boxed(make(), home)
    }
}

impl<T> LocalPooled<T> {
    fn new(entry: Box<Entry<T>>) -> LocalPooled<T> {
        LocalPooled {
            entry: ManuallyDrop::new(entry),
        }
    }

    /// A handle to an object of no pool, dropped with the handle: for code
    /// that takes pooled objects and is handed one made elsewhere.
    pub fn unpooled(obj: T) -> LocalPooled<T> {
        LocalPooled::new(Entry::boxed(obj, None))
    }

    /// Whether the object goes back to a pool when this handle drops.
    pub fn is_pooled(this: &Self) -> bool {
        this.entry.home.is_some()
    }
}

impl<T> Drop for LocalPooled<T> {
    // Inlined: a loan returns on every request, and the return is a few
    // counters and a push (the cold cases return early).
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `entry` is taken exactly once, here, and not used after.
        let entry = unsafe { ManuallyDrop::take(&mut self.entry) };
        // A second `Rc` (a plain increment), as the entry moves into the
        // list while the list is borrowed through this one.
        let Some(shared) = entry.home.clone() else {
            return;
        };
        shared.out.set(shared.out.get() - 1);
        home::with(|h| home::drop_one(&h.live, 1));
        if !shared.open.get() {
            return;
        }
        // Busy only if dropping a pooled object drops another handle of
        // its own pool; that one is simply freed.
        if let Ok(mut free) = shared.free.try_borrow_mut() {
            free.push(entry);
        }; // A statement: the borrow ends before `shared` drops.
    }
}

super::handle::handle_impls!(LocalPooled, entry.obj);
