//! `Pool<T>`: a bounded per-shard free list of reusable objects, and the
//! `Pooled<T>` handle that brings an object home when dropped.

use super::home;
use super::local::LocalPool;
use crossbeam_queue::SegQueue;
use std::cell::RefCell;
use std::fmt;
use std::io;
use std::mem::ManuallyDrop;
use std::rc::Rc;
use std::sync::Arc;

/// What [`Pool::get`] does when the pool's capacity is reached (every object
/// it may own is handed out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overflow {
    /// Hand out a fresh object that is not counted against the pool and is
    /// simply dropped when its handle goes (the default).
    #[default]
    Allocate,
    /// Fail with [`PoolExhausted`].
    Fail,
}

/// [`Pool::get`] found the pool at capacity under [`Overflow::Fail`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolExhausted {
    capacity: usize,
}

impl PoolExhausted {
    pub(super) fn new(capacity: usize) -> PoolExhausted {
        PoolExhausted { capacity }
    }

    /// The capacity that was reached.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl fmt::Display for PoolExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "object pool exhausted: all {} objects are in use",
            self.capacity
        )
    }
}

impl std::error::Error for PoolExhausted {}

impl From<PoolExhausted> for io::Error {
    fn from(e: PoolExhausted) -> io::Error {
        io::Error::new(io::ErrorKind::OutOfMemory, e)
    }
}

/// Runs on an object before it is handed out again.
pub(super) type ResetHook<T> = Box<dyn Fn(&mut T)>;

/// The part of a pool that handles reach, possibly from other threads.
struct Shared<T> {
    /// The home thread's token (see `home`).
    token: u64,
    /// INVARIANT: only touched on the home thread (`home::token() == token`).
    local: RefCell<Local<T>>,
    /// Objects dropped away from home (or re-entrantly), waiting to be
    /// reclaimed by the home thread.
    returned: SegQueue<Box<T>>,
}

struct Local<T> {
    free: Vec<Box<T>>,
    /// Pooled handles out, including those on their way home.
    out: usize,
    /// False once every `Pool` clone is gone: returns are dropped.
    open: bool,
}

// Other threads use only the lock-free `returned` queue; every access to
// `local` checks `home::token() == self.token` first.
// SAFETY: `local` (a RefCell, not Sync) is only borrowed on the home thread,
// so its borrow flag is never shared; dropping boxed `T`s anywhere is sound
// because `T: Send`.
unsafe impl<T: Send> Sync for Shared<T> {}
// SAFETY: a `Shared` holds boxed `T: Send`, plain integers, a lock-free queue
// and a RefCell that only its home thread borrows (see `Sync` above), so
// moving it — or dropping the last `Arc` to it — on any thread is sound.
unsafe impl<T: Send> Send for Shared<T> {}

struct Owner<T> {
    shared: Arc<Shared<T>>,
    make: Box<dyn Fn() -> T>,
    reset: Option<ResetHook<T>>,
    capacity: usize,
    overflow: Overflow,
}

impl<T> Drop for Owner<T> {
    fn drop(&mut self) {
        let mut local = self.shared.local.borrow_mut();
        local.open = false;
        local.free.clear();
        drop(local);
        while self.shared.returned.pop().is_some() {}
    }
}

/// A bounded pool of reusable objects, owned by the shard (thread) that
/// created it.
///
/// [`get`](Pool::get) hands out a [`Pooled<T>`] that derefs to `T`. Dropping
/// the handle returns the object to the pool; dropped on another thread, it
/// goes home through a lock-free queue and the home shard reclaims it on a
/// later `get`. The reset hook runs on the home shard when an object is handed
/// out again, so a handle never sees a previous user's state.
///
/// The pool owns at most `capacity` objects (handed out plus free); past
/// that, [`Overflow`] decides. Objects are kept in a LIFO free list, so the
/// most recently used (cache-warm) object is reused first. Hits, misses,
/// live handles and returns from other threads are counted in the shard's
/// [`ShardStats`](crate::ShardStats).
///
/// A `Pool` is a cheap handle (`Clone`) that stays on its shard; the objects
/// live until the last `Pool` clone is dropped and their handles are gone.
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
///         .build();
///     let mut v = pool.get().unwrap();
///     v.push(7);
///     drop(v); // back in the pool
///     let v = pool.get().unwrap(); // the same Vec, cleared
///     assert!(v.is_empty() && v.capacity() >= 64);
///     assert_eq!(shardio::stats().pool_hits, 1);
/// })
/// .unwrap();
/// ```
pub struct Pool<T> {
    owner: Rc<Owner<T>>,
}

impl<T> Clone for Pool<T> {
    fn clone(&self) -> Self {
        Pool {
            owner: self.owner.clone(),
        }
    }
}

impl<T> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("capacity", &self.owner.capacity)
            .field("overflow", &self.owner.overflow)
            .field("free", &self.free())
            .field("live", &self.live())
            .finish()
    }
}

/// Configures a [`Pool`]; see [`Pool::builder`].
pub struct PoolBuilder<T> {
    make: Box<dyn Fn() -> T>,
    reset: Option<ResetHook<T>>,
    capacity: usize,
    overflow: Overflow,
    prefill: usize,
}

impl<T> fmt::Debug for PoolBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("capacity", &self.capacity)
            .field("overflow", &self.overflow)
            .field("prefill", &self.prefill)
            .finish_non_exhaustive()
    }
}

impl<T: 'static> PoolBuilder<T> {
    /// The most objects the pool owns at once (default 1024).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Runs on an object each time it is handed out again (not on fresh
    /// objects): clear it here.
    pub fn reset(mut self, reset: impl Fn(&mut T) + 'static) -> Self {
        self.reset = Some(Box::new(reset));
        self
    }

    /// What to do past capacity (default [`Overflow::Allocate`]).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// Creates this many objects up front (capped at the capacity).
    pub fn prefill(mut self, n: usize) -> Self {
        self.prefill = n;
        self
    }

    /// Creates a [`LocalPool`]: the same pool for objects whose handles
    /// never leave the calling thread, without atomic operations.
    pub fn build_local(self) -> LocalPool<T> {
        let n = self.prefill.min(self.capacity);
        LocalPool::new(n, self.make, self.reset, self.capacity, self.overflow)
    }

    /// Creates the pool, owned by the calling thread.
    pub fn build(self) -> Pool<T> {
        let n = self.prefill.min(self.capacity);
        let free = (0..n).map(|_| Box::new((self.make)())).collect();
        Pool {
            owner: Rc::new(Owner {
                shared: Arc::new(Shared {
                    token: home::token(),
                    local: RefCell::new(Local {
                        free,
                        out: 0,
                        open: true,
                    }),
                    returned: SegQueue::new(),
                }),
                make: self.make,
                reset: self.reset,
                capacity: self.capacity,
                overflow: self.overflow,
            }),
        }
    }
}

impl<T: 'static> Pool<T> {
    /// A pool of up to `capacity` objects made by `make`, with no reset hook
    /// and [`Overflow::Allocate`].
    pub fn new(capacity: usize, make: impl Fn() -> T + 'static) -> Pool<T> {
        Pool::builder(make).capacity(capacity).build()
    }

    /// Starts configuring a pool whose fresh objects come from `make`.
    pub fn builder(make: impl Fn() -> T + 'static) -> PoolBuilder<T> {
        PoolBuilder {
            make: Box::new(make),
            reset: None,
            capacity: 1024,
            overflow: Overflow::Allocate,
            prefill: 0,
        }
    }

    /// Takes an object from the pool (reset), or makes one.
    ///
    /// # Errors
    ///
    /// [`PoolExhausted`] when all `capacity` objects are handed out and the
    /// pool was built with [`Overflow::Fail`].
    pub fn get(&self) -> Result<Pooled<T>, PoolExhausted> {
        let owner = &*self.owner;
        let shared = &owner.shared;
        let mut local = shared.local.borrow_mut();
        if local.free.is_empty() {
            reclaim(shared, &mut local);
        }
        if let Some(mut obj) = local.free.pop() {
            local.out += 1;
            drop(local);
            home::with(|h| {
                home::bump(&h.hits, 1);
                home::bump(&h.live, 1);
            });
            if let Some(reset) = &owner.reset {
                reset(&mut obj);
            }
            return Ok(Pooled::new(obj, Some(shared.clone())));
        }
        let pooled = local.out < owner.capacity;
        if !pooled && owner.overflow == Overflow::Fail {
            return Err(PoolExhausted {
                capacity: owner.capacity,
            });
        }
        if pooled {
            local.out += 1;
        }
        drop(local);
        home::with(|h| {
            home::bump(&h.misses, 1);
            if pooled {
                home::bump(&h.live, 1);
            }
        });
        let obj = make_boxed(&*owner.make);
        Ok(Pooled::new(obj, pooled.then(|| shared.clone())))
    }
}

impl<T> Pool<T> {
    /// Objects ready to be handed out (not counting those still on their way
    /// home from other threads).
    pub fn free(&self) -> usize {
        self.owner.shared.local.borrow().free.len()
    }

    /// Pooled handles currently out (including those dropped on other
    /// threads and not yet reclaimed).
    pub fn live(&self) -> usize {
        self.owner.shared.local.borrow().out
    }

    /// The most objects the pool owns at once.
    pub fn capacity(&self) -> usize {
        self.owner.capacity
    }

    /// Reclaims every object that came home from another thread.
    pub fn reclaim(&self) {
        let shared = &self.owner.shared;
        reclaim(shared, &mut shared.local.borrow_mut());
    }
}

/// Makes a fresh object, out of line: a large `T` passes through this
/// function's stack frame, and keeping that frame out of `get` keeps hits
/// from paying for its stack probes.
#[cold]
#[inline(never)]
pub(super) fn make_boxed<T>(make: &dyn Fn() -> T) -> Box<T> {
    Box::new(make())
}

/// Moves objects returned from other threads onto the free list.
fn reclaim<T>(shared: &Shared<T>, local: &mut Local<T>) {
    let mut n = 0;
    while let Some(obj) = shared.returned.pop() {
        local.free.push(obj);
        n += 1;
    }
    if n > 0 {
        local.out -= n;
        home::with(|h| {
            home::bump(&h.remote_returns, n as u64);
            home::drop_one(&h.live, n as u64);
        });
    }
}

/// An object on loan from a [`Pool`]; derefs to `T` and goes back to the
/// pool when dropped, from any thread.
pub struct Pooled<T> {
    obj: ManuallyDrop<Box<T>>,
    /// `None` for an object made past capacity: it is dropped, not returned.
    home: Option<Arc<Shared<T>>>,
}

impl<T> Pooled<T> {
    fn new(obj: Box<T>, home: Option<Arc<Shared<T>>>) -> Pooled<T> {
        Pooled {
            obj: ManuallyDrop::new(obj),
            home,
        }
    }

    /// A handle for an object that belongs to no pool: it is simply
    /// dropped with the handle. For code that takes objects from a pool
    /// when it has one and makes them when it does not.
    ///
    /// ```
    /// use shardio::pool::Pooled;
    ///
    /// let v = Pooled::unpooled(vec![1, 2, 3]);
    /// assert!(!Pooled::is_pooled(&v));
    /// assert_eq!(v.len(), 3);
    /// ```
    pub fn unpooled(obj: T) -> Pooled<T> {
        Pooled::new(Box::new(obj), None)
    }

    /// Whether the object returns to a pool when dropped (false for objects
    /// made past capacity under [`Overflow::Allocate`]).
    pub fn is_pooled(this: &Self) -> bool {
        this.home.is_some()
    }
}

impl<T> Drop for Pooled<T> {
    fn drop(&mut self) {
        // SAFETY: `obj` is taken exactly once, here, and not used after.
        let obj = unsafe { ManuallyDrop::take(&mut self.obj) };
        let Some(shared) = self.home.take() else {
            return;
        };
        let mut obj = Some(obj);
        // One thread-local access both checks for home and counts.
        home::with(|h| {
            if h.token.get() != shared.token {
                return;
            }
            // Re-entrant at home (dropped while the pool was busy): queue it.
            let Ok(mut local) = shared.local.try_borrow_mut() else {
                return;
            };
            let obj = obj.take();
            if local.open {
                local.out -= 1;
                local.free.extend(obj);
                home::drop_one(&h.live, 1);
            }
        });
        // Away from home (or re-entrant): the home thread reclaims it later.
        if let Some(obj) = obj {
            shared.returned.push(obj);
        }
    }
}

super::handle::handle_impls!(Pooled, obj);
