//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use shardio::{IoBuf, IoBufMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Holds the tests of one binary that count the process's fds to one at
/// a time: a test running beside them opens and closes fds of its own.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// Raises the soft RLIMIT_NOFILE to at least `want` (up to the hard limit).
/// Returns the new soft limit.
pub fn raise_nofile(want: u64) -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the live local.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    let target = want.min(lim.rlim_max);
    if lim.rlim_cur < target {
        lim.rlim_cur = target;
        // SAFETY: setrlimit reads the live local.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    }
    lim.rlim_cur.max(target)
}

/// A buffer that counts how many of its kind are alive, to prove that a
/// buffer handed to the kernel is freed exactly once, and only at the end.
#[derive(Debug)]
pub struct CountedBuf {
    inner: Vec<u8>,
    live: Arc<AtomicUsize>,
}

impl CountedBuf {
    pub fn new(capacity: usize, live: &Arc<AtomicUsize>) -> CountedBuf {
        live.fetch_add(1, Ordering::SeqCst);
        CountedBuf {
            inner: Vec::with_capacity(capacity),
            live: live.clone(),
        }
    }

    pub fn filled(len: usize, live: &Arc<AtomicUsize>) -> CountedBuf {
        let mut b = CountedBuf::new(len, live);
        b.inner.resize(len, 0xAB);
        b
    }

    pub fn bytes(&self) -> &[u8] {
        &self.inner
    }
}

impl Drop for CountedBuf {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

// SAFETY: delegates to Vec<u8>, whose heap storage is stable.
unsafe impl IoBuf for CountedBuf {
    fn stable_ptr(&self) -> *const u8 {
        self.inner.stable_ptr()
    }
    fn bytes_init(&self) -> usize {
        self.inner.bytes_init()
    }
    fn bytes_total(&self) -> usize {
        self.inner.bytes_total()
    }
}

// SAFETY: delegates to Vec<u8>.
unsafe impl IoBufMut for CountedBuf {
    fn stable_mut_ptr(&mut self) -> *mut u8 {
        self.inner.stable_mut_ptr()
    }
    unsafe fn set_init(&mut self, pos: usize) {
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.set_init(pos) }
    }
}

/// Lets the shard reap for a while (completions of cancelled ops arrive).
pub async fn settle() {
    for _ in 0..5 {
        shardio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Once the completions still on their way are in: no op of this shard
/// left in flight (nothing the kernel may still write into) and no
/// connection left open.
pub async fn assert_shard_idle() {
    settle().await;
    let s = shardio::stats();
    assert_eq!(s.ops_in_flight, 0, "ops left in flight: {s:?}");
    assert_eq!(s.connections_open, 0, "connections left open: {s:?}");
}

/// A connected pair of streams on the current shard.
pub async fn pair() -> (shardio::net::TcpStream, shardio::net::TcpStream) {
    let listener = shardio::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = shardio::spawn(async move { shardio::net::TcpStream::connect(addr).await });
    let (server, _) = listener.accept().await.unwrap();
    (client.await.unwrap().unwrap(), server)
}

/// A pooled object that counts how many of its kind are alive, to prove a
/// pool neither leaks nor drops one twice; `value` shows whether the
/// pool's reset hook ran.
#[derive(Debug)]
pub struct Tracked {
    live: Arc<AtomicUsize>,
    pub value: u64,
}

impl Tracked {
    pub fn new(live: &Arc<AtomicUsize>) -> Tracked {
        live.fetch_add(1, Ordering::SeqCst);
        Tracked {
            live: live.clone(),
            value: 0,
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A pool of [`Tracked`] objects counted in `live`, reset (`value` back to
/// 0) before each reuse; `.build()` or `.build_local()` makes it.
pub fn tracked_pool(
    live: &Arc<AtomicUsize>,
    capacity: usize,
    overflow: shardio::pool::Overflow,
) -> shardio::pool::PoolBuilder<Tracked> {
    let l = live.clone();
    shardio::pool::Pool::builder(move || Tracked::new(&l))
        .capacity(capacity)
        .overflow(overflow)
        .reset(|t| t.value = 0)
}
