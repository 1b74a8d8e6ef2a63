//! Provided buffer rings: receive buffers shared by every connection of a
//! shard, handed out by the kernel only when data arrives.
//!
//! A [`BufRing`] is a group of equal-sized buffers registered with the
//! shard's io_uring (`IORING_REGISTER_PBUF_RING`). A multishot receive
//! ([`TcpStream::recv_stream`](crate::net::TcpStream::recv_stream)) names
//! the group instead of a buffer; the kernel picks a buffer when bytes
//! arrive and says which in the completion. The buffer reaches the user as
//! a [`RingBuf`], which puts it back in the ring when dropped. An idle
//! connection therefore holds no buffer at all.
//!
//! ```text
//!   user memory (one allocation)        ring (shared with the kernel)
//!   ┌─────┬─────┬─────┬─────┐           head ─▶ [bid 2][bid 3][bid 0] ◀─ tail
//!   │bid 0│bid 1│bid 2│bid 3│  kernel takes at head, we put back at tail
//!   └─────┴─────┴─────┴─────┘           (bid 1 is out, in a RingBuf)
//! ```
//!
//! Lifetime: the ring memory and the buffers stay allocated until the ring is
//! unregistered. Every receive naming the group and every `RingBuf` holds a
//! reference to the ring, so it is retired only when the last of them is
//! gone; the shard then unregisters it (outside any borrow of the driver) and
//! only after that frees the memory.

use crate::buf::IoBuf;
use crate::shard::Shard;
use std::alloc::{self, Layout};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::ops::Deref;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::task::Waker;

/// Page alignment the kernel requires of the ring.
const PAGE: usize = 4096;

/// One ring entry, as `struct io_uring_buf` in `io_uring.h`. The first
/// entry's `resv` field is the ring's tail.
#[repr(C)]
struct RawBuf {
    addr: u64,
    len: u32,
    bid: u16,
    resv: u16,
}

const _: () = assert!(std::mem::size_of::<RawBuf>() == 16);

/// The largest ring the kernel accepts.
pub(crate) const MAX_RING_ENTRIES: usize = 1 << 15;

/// A provided buffer ring: `count` buffers of `size` bytes each, registered
/// with the current shard's io_uring. Cheap to clone; shard-local.
///
/// Most programs use the shard's default ring (see
/// [`Builder::provided_buffers`](crate::Builder::provided_buffers)); a ring
/// of its own gives a protocol its own buffer size and budget.
///
/// # Examples
///
/// ```
/// use shardio::buf::BufRing;
/// use shardio::net::{TcpListener, TcpStream};
///
/// shardio::block_on(async {
///     let ring = BufRing::new(64, 4096)?;
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let client = TcpStream::connect(listener.local_addr()?).await?;
///     let (server, _) = listener.accept().await?;
///     let mut incoming = server.recv_stream_with(&ring);
///     let (r, _) = client.write_all(b"hi".to_vec()).await;
///     r?;
///     let buf = incoming.next().await.unwrap()?;
///     assert_eq!(&buf[..], b"hi");
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct BufRing {
    inner: Rc<RingInner>,
}

pub(crate) struct RingInner {
    /// Keeps the driver (and with it the registration) alive.
    shard: Rc<Shard>,
    bgid: u16,
    count: u16,
    mask: u16,
    size: u32,
    /// INVARIANT: `count` entries, page-aligned, registered with the ring
    /// until this struct is retired; only freed after unregistering.
    entries: NonNull<RawBuf>,
    /// INVARIANT: `count * size` bytes, freed with `entries`.
    bufs: NonNull<u8>,
    /// Our copy of the tail: where the next returned buffer goes.
    tail: Cell<u16>,
    /// Buffers returned since the ring was made (lets a receive that ran
    /// dry tell whether any came back since it was armed).
    returned: Cell<u64>,
    /// `RingBuf`s alive.
    in_use: Cell<u32>,
    /// Receives waiting for a buffer to come back.
    waiters: RefCell<Vec<Waker>>,
}

impl fmt::Debug for BufRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufRing")
            .field("group", &self.inner.bgid)
            .field("count", &self.inner.count)
            .field("size", &self.inner.size)
            .field("in_use", &self.inner.in_use.get())
            .finish()
    }
}

impl BufRing {
    /// Allocates `count` buffers of `size` bytes and registers them with the
    /// current shard's ring. `count` must be a power of two up to 32768.
    ///
    /// # Errors
    ///
    /// Outside a shard; for a bad `count` or `size`; if the kernel has no
    /// provided buffer rings (Linux 5.19) or the memory cannot be allocated.
    pub fn new(count: usize, size: usize) -> io::Result<BufRing> {
        if !count.is_power_of_two() || count > MAX_RING_ENTRIES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a buffer ring holds a power of two up to {MAX_RING_ENTRIES} buffers, not {count}"),
            ));
        }
        if size == 0 || size > u32::MAX as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("buffer size {size} is out of range"),
            ));
        }
        let shard = Shard::current()?;
        let bgid = shard.buf_rings.borrow_mut().take_id()?;
        let memory = Memory::new(count, size)?;
        let registered = shard.driver.borrow().register_buf_ring(
            memory.entries.as_ptr() as u64,
            count as u16,
            bgid,
        );
        if let Err(e) = registered {
            shard.buf_rings.borrow_mut().free_id(bgid);
            return Err(e);
        }
        let (entries, bufs) = memory.into_raw();
        let inner = RingInner {
            shard,
            bgid,
            count: count as u16,
            mask: (count - 1) as u16,
            size: size as u32,
            entries,
            bufs,
            tail: Cell::new(0),
            returned: Cell::new(0),
            in_use: Cell::new(0),
            waiters: RefCell::new(Vec::new()),
        };
        for bid in 0..count as u16 {
            inner.push(bid);
        }
        inner.publish();
        Ok(BufRing {
            inner: Rc::new(inner),
        })
    }

    /// The shard's default ring, created on first use with the sizes given
    /// to [`Builder::provided_buffers`](crate::Builder::provided_buffers).
    ///
    /// # Errors
    ///
    /// As for [`BufRing::new`].
    pub fn shard_default() -> io::Result<BufRing> {
        let shard = Shard::current()?;
        if let Some(ring) = shard.buf_rings.borrow().default.clone() {
            return Ok(ring);
        }
        let (count, size) = shard.buf_rings.borrow().default_size;
        let ring = BufRing::new(count, size)?;
        shard.buf_rings.borrow_mut().default = Some(ring.clone());
        Ok(ring)
    }

    /// How many buffers the ring has.
    pub fn count(&self) -> usize {
        usize::from(self.inner.count)
    }

    /// The size of each buffer.
    pub fn buf_size(&self) -> usize {
        self.inner.size as usize
    }

    /// Buffers currently held by [`RingBuf`]s.
    pub fn in_use(&self) -> usize {
        self.inner.in_use.get() as usize
    }

    pub(crate) fn inner(&self) -> &Rc<RingInner> {
        &self.inner
    }
}

impl RingInner {
    pub(crate) fn group(&self) -> u16 {
        self.bgid
    }

    pub(crate) fn returned(&self) -> u64 {
        self.returned.get()
    }

    /// Writes `bid` into the ring at our tail (not yet visible).
    fn push(&self, bid: u16) {
        debug_assert!(bid < self.count);
        let tail = self.tail.get();
        let addr = self.buf_ptr(bid) as u64;
        // Fields are written through raw pointers so no reference covers
        // entry 0's `resv`, which is the shared tail.
        // SAFETY: `tail & mask < count`: inside the ring allocation, owned by
        // `self`; the kernel reads only up to the published tail, before it.
        unsafe {
            let entry = self.entries.as_ptr().add(usize::from(tail & self.mask));
            std::ptr::addr_of_mut!((*entry).addr).write(addr);
            std::ptr::addr_of_mut!((*entry).len).write(self.size);
            std::ptr::addr_of_mut!((*entry).bid).write(bid);
        }
        self.tail.set(tail.wrapping_add(1));
    }

    /// Makes every pushed entry visible to the kernel.
    fn publish(&self) {
        let ring = self.entries.as_ptr();
        // SAFETY: the tail is entry 0's `resv`, a naturally aligned u16 in the
        // ring allocation, which `self` owns and keeps alive; the kernel reads
        // it with acquire semantics, and this side only accesses it atomically.
        let tail = unsafe { AtomicU16::from_ptr(std::ptr::addr_of_mut!((*ring).resv)) };
        tail.store(self.tail.get(), Ordering::Release);
    }

    /// Puts buffer `bid` back in the ring and wakes receives that ran dry.
    pub(crate) fn recycle(&self, bid: u16) {
        self.push(bid);
        self.publish();
        self.returned.set(self.returned.get() + 1);
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for w in waiters {
            w.wake();
        }
    }

    /// Registers a receive waiting for a buffer to come back. Every return
    /// wakes (and clears) all waiters, so a stream registers at most once
    /// per return; a duplicate only costs a spurious wake.
    pub(crate) fn wait_for_buffer(&self, waker: &Waker) {
        self.waiters.borrow_mut().push(waker.clone());
    }

    fn buf_ptr(&self, bid: u16) -> *mut u8 {
        // SAFETY: `bid < count`, so the offset stays inside the buffer
        // allocation of `count * size` bytes.
        unsafe {
            self.bufs
                .as_ptr()
                .add(usize::from(bid) * self.size as usize)
        }
    }

    /// Wraps buffer `bid`, which the kernel filled with `len` bytes.
    pub(crate) fn take(self: &Rc<Self>, bid: u16, len: usize) -> RingBuf {
        debug_assert!(len <= self.size as usize);
        self.in_use.set(self.in_use.get() + 1);
        RingBuf {
            ring: self.clone(),
            bid,
            len: len.min(self.size as usize) as u32,
        }
    }
}

impl Drop for RingInner {
    fn drop(&mut self) {
        // No receive names the group any more (each holds an `Rc` to us), but
        // the driver may be borrowed right now (we can be dropped from inside
        // a reap): hand the memory to the shard, which unregisters the group
        // and only then frees it.
        let memory = Memory {
            entries: self.entries,
            bufs: self.bufs,
            count: usize::from(self.count),
            size: self.size as usize,
        };
        self.shard.buf_rings.borrow_mut().retire(self.bgid, memory);
    }
}

/// A buffer from a [`BufRing`] holding received bytes; derefs to them. It
/// goes back to the ring when dropped — keep it only as long as needed.
/// It is an [`IoBuf`], so received bytes can be written out again without
/// a copy (the buffer returns to the ring when the write is done).
pub struct RingBuf {
    ring: Rc<RingInner>,
    bid: u16,
    len: u32,
}

impl RingBuf {
    /// Which buffer of the ring this is.
    pub fn id(&self) -> u16 {
        self.bid
    }
}

impl Deref for RingBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the kernel wrote `len` bytes into buffer `bid` and leaves it
        // alone until this RingBuf drops and returns it; the memory is owned
        // by the ring, which `self.ring` (an `Rc`) keeps alive.
        unsafe { std::slice::from_raw_parts(self.ring.buf_ptr(self.bid), self.len as usize) }
    }
}

// A RingBuf can be sent as it is — echoed or forwarded without a copy.
// SAFETY: the bytes live in the ring's allocation, kept alive (unmoved) by
// the `Rc` in this value; the kernel wrote `len` bytes and leaves them alone
// until the RingBuf drops.
unsafe impl IoBuf for RingBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.ring.buf_ptr(self.bid)
    }
    fn bytes_init(&self) -> usize {
        self.len as usize
    }
    fn bytes_total(&self) -> usize {
        self.len as usize
    }
}

impl fmt::Debug for RingBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingBuf")
            .field("id", &self.bid)
            .field("len", &self.len)
            .finish()
    }
}

impl Drop for RingBuf {
    fn drop(&mut self) {
        self.ring.in_use.set(self.ring.in_use.get() - 1);
        self.ring.recycle(self.bid);
    }
}

/// The allocations behind one ring.
pub(crate) struct Memory {
    entries: NonNull<RawBuf>,
    bufs: NonNull<u8>,
    count: usize,
    size: usize,
}

impl Memory {
    fn new(count: usize, size: usize) -> io::Result<Memory> {
        let (ring_layout, buf_layout) = layouts(count, size)?;
        // SAFETY: both layouts have a non-zero size (count and size are
        // non-zero). The ring must start zeroed (its tail is 0).
        let entries = unsafe { alloc::alloc_zeroed(ring_layout) };
        let Some(entries) = NonNull::new(entries.cast::<RawBuf>()) else {
            return Err(io::ErrorKind::OutOfMemory.into());
        };
        // SAFETY: the layout has a non-zero size (count and size are
        // non-zero); the block is owned by the returned `Memory`.
        let bufs = unsafe { alloc::alloc(buf_layout) };
        let Some(bufs) = NonNull::new(bufs) else {
            // SAFETY: allocated just above with this layout.
            unsafe { alloc::dealloc(entries.as_ptr().cast(), ring_layout) };
            return Err(io::ErrorKind::OutOfMemory.into());
        };
        Ok(Memory {
            entries,
            bufs,
            count,
            size,
        })
    }

    fn into_raw(self) -> (NonNull<RawBuf>, NonNull<u8>) {
        let parts = (self.entries, self.bufs);
        std::mem::forget(self);
        parts
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        let (ring_layout, buf_layout) =
            layouts(self.count, self.size).expect("layouts were valid at allocation");
        // SAFETY: allocated in `Memory::new` with these layouts; a `Memory` is
        // only dropped when the kernel can no longer use it (never
        // registered, or unregistered, or its ring is gone).
        unsafe {
            alloc::dealloc(self.entries.as_ptr().cast(), ring_layout);
            alloc::dealloc(self.bufs.as_ptr(), buf_layout);
        }
    }
}

fn layouts(count: usize, size: usize) -> io::Result<(Layout, Layout)> {
    let too_big = || io::Error::new(io::ErrorKind::InvalidInput, "buffer ring too large");
    let ring = Layout::from_size_align(count * std::mem::size_of::<RawBuf>(), PAGE)
        .map_err(|_| too_big())?;
    let bufs = count
        .checked_mul(size)
        .and_then(|n| Layout::from_size_align(n, PAGE).ok())
        .ok_or_else(too_big)?;
    Ok((ring, bufs))
}

/// The shard's buffer rings: group ids, the default ring, and rings waiting
/// to be unregistered.
pub(crate) struct BufRings {
    next_id: u16,
    free_ids: Vec<u16>,
    retired: Vec<(u16, Memory)>,
    default: Option<BufRing>,
    default_size: (usize, usize),
}

impl BufRings {
    pub(crate) fn new(default_size: (usize, usize)) -> BufRings {
        BufRings {
            next_id: 0,
            free_ids: Vec::new(),
            retired: Vec::new(),
            default: None,
            default_size,
        }
    }

    fn take_id(&mut self) -> io::Result<u16> {
        if let Some(id) = self.free_ids.pop() {
            return Ok(id);
        }
        let id = self.next_id;
        self.next_id = id.checked_add(1).ok_or_else(|| {
            io::Error::other("all 65536 buffer group ids of this shard are in use")
        })?;
        Ok(id)
    }

    /// Makes a group id available again (never registered, or unregistered).
    pub(crate) fn free_id(&mut self, id: u16) {
        self.free_ids.push(id);
    }

    fn retire(&mut self, bgid: u16, memory: Memory) {
        self.retired.push((bgid, memory));
    }

    /// Rings whose last user is gone, to unregister (then free).
    pub(crate) fn take_retired(&mut self) -> Vec<(u16, Memory)> {
        std::mem::take(&mut self.retired)
    }

    pub(crate) fn has_retired(&self) -> bool {
        !self.retired.is_empty()
    }

    /// Takes the default ring out (at teardown, so it can retire).
    pub(crate) fn take_default(&mut self) -> Option<BufRing> {
        self.default.take()
    }
}

impl fmt::Debug for BufRings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufRings")
            .field("retired", &self.retired.len())
            .finish_non_exhaustive()
    }
}
