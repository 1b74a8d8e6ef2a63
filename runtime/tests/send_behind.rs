//! `TcpStream::send_behind`: the send runs on without its task, its buffer
//! goes when the kernel has taken it, a waiting task is woken once it is
//! done, a failed send shuts the socket's sending side, and a handle
//! dropped early cancels it without leaking the buffer or the fd; once
//! warm, a send let run allocates nothing. The tests run one at a time,
//! since one counts the process's fds.

mod util;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use util::{open_fds, serial, settle, CountedBuf};

/// Counts this thread's allocations, for the test of a warm send.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call goes to `System` unchanged; the count is a
// thread-local `Cell` with a constant initializer, which allocates
// nothing, so counting cannot recurse into the allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's guarantees for `layout` are `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` (through `alloc`) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn a_warm_send_allocates_nothing() {
    let _serial = serial();
    const PIECE: &[u8] = b"sixteen bytes...";
    const SENDS: usize = 500;
    shardio::block_on(async {
        let (client, server) = util::pair().await;
        let send = || {
            client
                .send_behind(PIECE)
                .map_err(|(e, _)| e)
                .expect("the ring takes the send")
        };
        // The first send makes what later ones reuse: the finisher's box.
        send().finished().await;
        let before = allocations();
        for _ in 0..SENDS {
            send().finished().await;
        }
        assert_eq!(allocations() - before, 0, "allocations for {SENDS} sends");
        // Every byte arrived, in order.
        let mut got = Vec::new();
        let mut buf = vec![0; 4096];
        while got.len() < PIECE.len() * (SENDS + 1) {
            let (n, back) = server.read(buf).await;
            let n = n.unwrap();
            assert_ne!(n, 0, "the peer closed early");
            got.extend_from_slice(&back[..n]);
            buf = back;
        }
        assert!(got.chunks(PIECE.len()).all(|c| c == PIECE));
    })
    .unwrap();
}

#[test]
fn the_buffer_goes_at_completion_without_waking_the_task() {
    let _serial = serial();
    let live = Arc::new(AtomicUsize::new(0));
    shardio::block_on(async {
        let (client, server) = util::pair().await;
        let behind = client
            .send_behind(CountedBuf::filled(4096, &live))
            .map_err(|(e, _)| e)
            .unwrap();
        assert!(
            !behind.is_finished(),
            "nothing is sent before the ring turns"
        );
        // Wait on a timer only, counting polls: the send finishing in the
        // meantime must not wake this task.
        let polls = Cell::new(0);
        let mut sleep = pin!(shardio::time::sleep(Duration::from_millis(100)));
        poll_fn(|cx| {
            polls.set(polls.get() + 1);
            sleep.as_mut().poll(cx)
        })
        .await;
        assert_eq!(polls.get(), 2, "woken by something but the timer");
        assert!(behind.is_finished());
        assert_eq!(
            live.load(Ordering::SeqCst),
            0,
            "the buffer outlived the send"
        );
        assert!(behind.into_running().is_none());
        let (n, got) = server.read(vec![0; 8192]).await;
        assert_eq!(n.unwrap(), 4096);
        assert!(got[..4096].iter().all(|&b| b == 0xAB));
    })
    .unwrap();
}

#[test]
fn sent_waits_for_a_peer_slow_to_take_everything() {
    let _serial = serial();
    shardio::block_on(async {
        let (client, server) = util::pair().await;
        let len = 16 << 20;
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let behind = client
            .send_behind(data.clone())
            .map_err(|(e, _)| e)
            .unwrap();
        let reader = shardio::spawn(async move {
            shardio::time::sleep(Duration::from_millis(50)).await;
            let mut got = Vec::with_capacity(len);
            while got.len() < len {
                let (n, buf) = server.read(vec![0; 1 << 20]).await;
                let n = n.unwrap();
                assert!(n > 0, "closed after {} bytes", got.len());
                got.extend_from_slice(&buf[..n]);
            }
            got
        });
        // More than the socket buffers hold: it finishes only as the peer reads.
        assert!(!behind.is_finished());
        behind.finished().await;
        assert!(behind.is_finished());
        let got = reader.await.unwrap();
        assert!(got == data, "the bytes arrived changed or out of order");
        // The socket is free for the next write.
        let (n, _) = client.write(b"next".to_vec()).await;
        assert_eq!(n.unwrap(), 4);
    })
    .unwrap();
}

#[test]
fn a_handle_dropped_early_cancels_the_send_and_leaks_nothing() {
    let _serial = serial();
    let before = open_fds();
    let live = Arc::new(AtomicUsize::new(0));
    shardio::block_on(async {
        for _ in 0..5 {
            let (client, server) = util::pair().await;
            // 64 MiB cannot fit in the socket buffers of a peer that never reads.
            let behind = client
                .send_behind(CountedBuf::filled(64 << 20, &live))
                .map_err(|(e, _)| e)
                .unwrap();
            shardio::time::sleep(Duration::from_millis(20)).await;
            assert!(!behind.is_finished(), "the send should still be in flight");
            drop(behind);
            drop(client);
            drop(server);
        }
        util::assert_shard_idle().await;
    })
    .unwrap();
    assert_eq!(
        live.load(Ordering::SeqCst),
        0,
        "a cancelled send's buffer leaked"
    );
    assert_eq!(open_fds(), before, "an fd leaked");
}

#[test]
fn a_failed_send_makes_the_next_write_fail() {
    let _serial = serial();
    shardio::block_on(async {
        let (client, server) = util::pair().await;
        // Close with a reset: linger on, with a zero timeout.
        {
            let fd = server.shared_fd();
            socket2::SockRef::from(&fd)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
        }
        server.close().await.unwrap();
        shardio::time::sleep(Duration::from_millis(20)).await;
        let behind = client
            .send_behind(vec![1u8; 1 << 20])
            .map_err(|(e, _)| e)
            .unwrap();
        behind.finished().await;
        let (res, _) = client.write(b"after".to_vec()).await;
        let err = res.unwrap_err();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "{err:?}"
        );
    })
    .unwrap();
}

#[test]
fn a_send_cut_short_shuts_the_sending_side() {
    let _serial = serial();
    // A send cancelled part way (its handle dropped) is a failure too:
    // the peer sees the stream end after what went out, not more bytes.
    shardio::block_on(async {
        let (client, server) = util::pair().await;
        let behind = client
            .send_behind(vec![5u8; 64 << 20])
            .map_err(|(e, _)| e)
            .unwrap();
        shardio::time::sleep(Duration::from_millis(20)).await;
        drop(behind);
        settle().await;
        let (res, _) = client.write(b"after".to_vec()).await;
        assert!(res.is_err(), "a write followed a cut send");
        let mut got = 0usize;
        loop {
            let (n, buf) = server.read(vec![0; 1 << 20]).await;
            match n.unwrap() {
                0 => break,
                n => {
                    assert!(buf[..n].iter().all(|&b| b == 5), "bytes after the cut");
                    got += n;
                }
            }
        }
        assert!(got < 64 << 20, "the whole send went out");
    })
    .unwrap();
}

#[test]
fn outside_a_shard_the_buffer_comes_back() {
    let _serial = serial();
    let std_stream = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap()
    };
    let stream = shardio::net::TcpStream::from_std(std_stream).unwrap();
    let (err, buf) = stream.send_behind(vec![9u8; 3]).unwrap_err();
    assert!(err.to_string().contains("not on a shardio shard"), "{err}");
    assert_eq!(buf, vec![9u8; 3]);
}
