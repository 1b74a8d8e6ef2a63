//! Helpers shared by the zero-copy integration tests.
#![allow(dead_code, unreachable_pub)]

use shardio::net::{TcpListener, TcpStream};
use shardio_zerocopy::Strategy;
use std::fs::File;
use std::io::{Read, Write};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Every strategy a caller can ask for.
pub const STRATEGIES: [Strategy; 4] = [
    Strategy::Splice,
    Strategy::Sendfile,
    Strategy::Copy,
    Strategy::Auto,
];

/// Tests that count fds take this, so no other test opens fds meanwhile.
pub fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// Open fds besides the idle pipes this shard's pool keeps (two each).
pub fn fds_besides_pool() -> usize {
    open_fds() - 2 * shardio_zerocopy::stats().pipes_idle as usize
}

/// Lets the shard reap for a while (completions of cancelled ops arrive).
pub async fn settle() {
    for _ in 0..10 {
        shardio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The byte at `pos` of every test file: varies with position, so a byte
/// from the wrong offset shows.
pub fn byte_at(pos: u64) -> u8 {
    (pos.wrapping_mul(2_654_435_761) >> 13) as u8
}

/// A file of `len` pattern bytes ([`byte_at`]), unlinked already. Returns it
/// and its path-less handle for writes (truncation tests).
pub fn pattern_file(len: u64) -> File {
    let path = std::env::temp_dir().join(format!(
        "shardio-zc-{}-{:?}-{len}",
        std::process::id(),
        std::thread::current().id()
    ));
    let mut f = File::options()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    let mut chunk = Vec::with_capacity(1 << 20);
    let mut pos = 0;
    while pos < len {
        chunk.clear();
        let n = (len - pos).min(1 << 20);
        chunk.extend((pos..pos + n).map(byte_at));
        f.write_all(&chunk).unwrap();
        pos += n;
    }
    f
}

/// Checks that `got` is the file's bytes from `offset`.
pub fn assert_pattern(got: &[u8], offset: u64) {
    for (i, &b) in got.iter().enumerate() {
        let pos = offset + i as u64;
        assert_eq!(b, byte_at(pos), "wrong byte at file offset {pos}");
    }
}

/// A shardio stream on the current shard, connected to a blocking std
/// stream for a reader thread.
pub async fn pair_with_std() -> (TcpStream, std::net::TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || std::net::TcpStream::connect(addr).unwrap());
    let (server, _) = listener.accept().await.unwrap();
    (server, client.join().unwrap())
}

/// A connected pair of shardio streams on the current shard.
pub async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = shardio::spawn(async move { TcpStream::connect(addr).await });
    let (server, _) = listener.accept().await.unwrap();
    (client.await.unwrap().unwrap(), server)
}

/// Waits for a helper thread without blocking the shard (which must go on
/// reaping, e.g. the completions that let a closed socket's fd go).
pub async fn join_thread<T>(handle: std::thread::JoinHandle<T>) -> T {
    while !handle.is_finished() {
        shardio::time::sleep(Duration::from_millis(2)).await;
    }
    handle.join().unwrap()
}

/// Reads until EOF on a std stream.
pub fn read_to_end(mut s: std::net::TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

/// Reads exactly `len` bytes from a shardio stream.
pub async fn read_exact(stream: &TcpStream, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let want = (len - out.len()).min(256 << 10);
        let (n, buf) = stream.read(Vec::with_capacity(want)).await;
        let n = n.unwrap();
        assert!(n > 0, "EOF after {} of {len} bytes", out.len());
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// Runs `f` on a fresh shard, failing the test (instead of hanging it) if
/// it has not finished within `secs`.
pub fn run_within<F, Fut>(secs: u64, f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        shardio::block_on(f()).unwrap();
        tx.send(()).ok();
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => worker.join().unwrap(),
        Err(_) if worker.is_finished() => {
            // The shard thread panicked: surface its message.
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(_) => panic!("the transfer hung for {secs} s"),
    }
}
