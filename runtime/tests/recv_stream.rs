//! Multishot receive into provided buffer rings: order, end of stream,
//! buffers always returned, and a ring smaller than the busy connections.

mod util;

use shardio::buf::{BufRing, RingBuf};
use shardio::net::TcpStream;
use shardio::time::{sleep, timeout};
use std::future::Future;
use std::io;
use std::time::Duration;
use util::serial;

/// Collects everything a stream yields until end of stream.
async fn drain_all(stream: &TcpStream, ring: &BufRing) -> io::Result<Vec<u8>> {
    let mut incoming = stream.recv_stream_with(ring);
    let mut got = Vec::new();
    while let Some(buf) = incoming.next().await {
        got.extend_from_slice(&buf?);
    }
    Ok(got)
}

/// Bytes received by the kernel and not yet read from `stream`.
fn unread_bytes(stream: &TcpStream) -> usize {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int into `n`, which outlives the call.
    let r = unsafe { libc::ioctl(stream.as_raw_fd(), libc::FIONREAD, &mut n) };
    assert_eq!(r, 0, "FIONREAD: {}", io::Error::last_os_error());
    n as usize
}

fn pattern(conn: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + conn * 7) as u8).collect()
}

/// Runs a test's body on a shard, one test at a time: they count the
/// shard's ops in flight and the process's fds.
fn run(body: impl Future<Output = io::Result<()>>) {
    let _serial = serial();
    shardio::block_on(body).unwrap().unwrap();
}

/// Once the completions still on their way are in: every buffer is back
/// in `ring` and no receive is left armed.
async fn all_returned(ring: &BufRing) {
    util::settle().await;
    assert_eq!(ring.in_use(), 0, "a buffer was not given back");
    assert_eq!(
        shardio::stats().ops_in_flight,
        0,
        "a receive is still armed"
    );
}

#[test]
fn bytes_arrive_in_order_and_buffers_go_back() {
    run(async {
        let ring = BufRing::new(8, 256)?;
        let (client, server) = util::pair().await;
        let data = pattern(0, 100_000);
        let sender = shardio::spawn({
            let data = data.clone();
            async move {
                let (r, _) = client.write_all(data).await;
                r?;
                client.close().await
            }
        });
        let got = drain_all(&server, &ring).await?;
        sender.await.unwrap()?;
        assert_eq!(got.len(), data.len());
        assert!(got == data, "bytes out of order or corrupted");
        assert_eq!(ring.in_use(), 0);
        assert_eq!(shardio::stats().ops_in_flight, 0);
        Ok(())
    });
}

#[test]
fn the_default_ring_serves_recv_stream() {
    run(async {
        let (client, server) = util::pair().await;
        let mut incoming = server.recv_stream()?;
        let (r, _) = client.write_all(b"hello".to_vec()).await;
        r?;
        let buf = incoming.next().await.unwrap()?;
        assert_eq!(&buf[..], b"hello");
        assert_eq!(BufRing::shard_default()?.buf_size(), 4096);
        drop(client);
        drop(buf);
        assert!(incoming.next().await.is_none(), "end of stream");
        Ok(())
    });
}

/// 16 connections each send 64 KiB through a ring of 4 buffers of 512 B,
/// while the receivers hold on to what they got: the ring runs dry again
/// and again. Every byte must still arrive, in order.
#[test]
fn ring_smaller_than_busy_connections_loses_nothing() {
    const CONNS: usize = 16;
    const LEN: usize = 64 * 1024;
    run(async {
        let ring = BufRing::new(4, 512)?;
        let mut receivers = Vec::new();
        for conn in 0..CONNS {
            let (client, server) = util::pair().await;
            shardio::spawn(async move {
                let (r, _) = client.write_all(pattern(conn, LEN)).await;
                r.unwrap();
                client.close().await.unwrap();
            });
            let ring = ring.clone();
            receivers.push(shardio::spawn(async move {
                let mut incoming = server.recv_stream_with(&ring);
                let mut got = Vec::with_capacity(LEN);
                let mut held: Vec<RingBuf> = Vec::new();
                while let Some(buf) = incoming.next().await {
                    let buf = buf?;
                    got.extend_from_slice(&buf);
                    // Keep buffers a while so other connections starve.
                    held.push(buf);
                    if held.len() == 2 {
                        sleep(Duration::from_millis(1)).await;
                        held.clear();
                    }
                }
                Ok::<_, io::Error>((conn, got))
            }));
        }
        for r in receivers {
            let (conn, got) = r.await.unwrap()?;
            assert_eq!(got.len(), LEN, "connection {conn} lost bytes");
            assert!(
                got == pattern(conn, LEN),
                "connection {conn}: bytes reordered"
            );
        }
        let stats = shardio::stats();
        assert!(stats.recv_starved > 0, "the ring never ran dry: {stats:?}");
        assert_eq!(ring.in_use(), 0);
        Ok(())
    });
}

/// A stream dropped while data keeps arriving: late completions return
/// their buffers, so every buffer of the ring is usable afterwards.
#[test]
fn dropped_stream_returns_late_buffers() {
    run(async {
        let baseline_fds = util::open_fds();
        let ring = BufRing::new(2, 16)?;
        for _ in 0..50 {
            let (client, server) = util::pair().await;
            let mut incoming = server.recv_stream_with(&ring);
            let writer = shardio::spawn(async move {
                for _ in 0..4 {
                    let (r, _) = client.write_all(vec![7u8; 16]).await;
                    if r.is_err() {
                        break;
                    }
                    shardio::yield_now().await;
                }
            });
            // Take at most one chunk, then walk away mid-stream.
            let first = timeout(Duration::from_millis(50), incoming.next()).await;
            drop(first);
            drop(incoming);
            writer.await.unwrap();
            drop(server);
        }
        all_returned(&ring).await;
        assert_eq!(util::open_fds(), baseline_fds, "an fd leaked");

        // Both buffers are back in the ring: one connection can hold both.
        let (client, server) = util::pair().await;
        let mut incoming = server.recv_stream_with(&ring);
        let (r, _) = client.write_all(vec![1u8; 32]).await;
        r?;
        let a = timeout(Duration::from_secs(5), incoming.next())
            .await?
            .unwrap()?;
        let b = timeout(Duration::from_secs(5), incoming.next())
            .await
            .expect("a ring buffer was never returned")
            .unwrap()?;
        assert_eq!(a.len() + b.len(), 32);
        assert_eq!(ring.in_use(), 2);
        Ok(())
    });
}

#[test]
fn rings_are_unregistered_and_their_ids_reused() {
    run(async {
        for _ in 0..200 {
            let ring = BufRing::new(16, 1024)?;
            let (client, server) = util::pair().await;
            let (r, _) = client.write_all(b"x".to_vec()).await;
            r?;
            let mut incoming = server.recv_stream_with(&ring);
            assert_eq!(&incoming.next().await.unwrap()?[..], b"x");
            // Dropped while armed again: retired after the cancel completes.
        }
        util::settle().await;
        assert_eq!(shardio::stats().ops_in_flight, 0);
        Ok(())
    });
}

#[test]
fn bad_ring_sizes_are_rejected() {
    let _serial = serial();
    shardio::block_on(async {
        for (count, size) in [(3, 64), (0, 64), (1 << 16, 64), (4, 0)] {
            let err = BufRing::new(count, size).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{count}x{size}");
        }
    })
    .unwrap();
    assert!(BufRing::new(4, 64).is_err(), "outside a shard");
}

#[test]
fn teardown_with_streams_armed() {
    let _serial = serial();
    let fds = util::open_fds();
    shardio::block_on(async {
        let ring = BufRing::new(4, 64).unwrap();
        for _ in 0..10 {
            let (client, server) = util::pair().await;
            let ring = ring.clone();
            shardio::spawn(async move {
                let _client = client;
                let mut incoming = server.recv_stream_with(&ring);
                incoming.next().await;
            });
        }
        shardio::yield_now().await;
    })
    .unwrap();
    assert_eq!(util::open_fds(), fds);
}

/// A received buffer is an `IoBuf`: it is written back without a copy and
/// returns to the ring once the write is done.
#[test]
fn ring_buffers_are_written_back_as_they_are() {
    run(async {
        let ring = BufRing::new(4, 256)?;
        let (client, server) = util::pair().await;
        let mut incoming = server.recv_stream_with(&ring);
        let (r, _) = client.write_all(b"echo me".to_vec()).await;
        r?;
        let chunk = incoming.next().await.unwrap()?;
        assert_eq!(ring.in_use(), 1);
        let (r, chunk) = server.write_all(chunk).await;
        r?;
        drop(chunk);
        assert_eq!(ring.in_use(), 0);
        let (n, got) = client.read(vec![0u8; 64]).await;
        assert_eq!(&got[..n?], b"echo me");
        Ok(())
    });
}

/// Completions that arrived (each holding a ring buffer) but were never
/// taken by the stream go back to the ring when the stream is dropped.
#[test]
fn queued_completions_return_their_buffers() {
    run(async {
        let ring = BufRing::new(2, 8)?;
        let (client, server) = util::pair().await;
        let mut incoming = server.recv_stream_with(&ring);
        // Arm the receive, then let both buffers fill while nobody takes them.
        let first = timeout(Duration::from_millis(20), incoming.next()).await;
        assert!(first.is_err(), "nothing was sent yet");
        let (r, _) = client.write_all(vec![5u8; 16]).await;
        r?;
        util::settle().await;
        drop(incoming);
        util::settle().await;
        assert_eq!(shardio::stats().ops_in_flight, 0);

        // Both buffers are back: another connection can hold both at once.
        let (client, server) = util::pair().await;
        let mut incoming = server.recv_stream_with(&ring);
        let (r, _) = client.write_all(vec![6u8; 16]).await;
        r?;
        let a = timeout(Duration::from_secs(5), incoming.next())
            .await?
            .unwrap()?;
        let b = timeout(Duration::from_secs(5), incoming.next())
            .await
            .expect("a queued completion kept its buffer")
            .unwrap()?;
        assert_eq!(a.len() + b.len(), 16);
        assert!(a.iter().chain(b.iter()).all(|&x| x == 6));
        Ok(())
    });
}

/// A limited stream whose consumer stops taking: the driver cancels its
/// receive once the limit's worth of filled buffers waits, so the rest
/// stays in the socket instead of draining the ring; taking them arms a
/// new receive, and every byte arrives, in order.
#[test]
fn a_limit_stops_the_receive_until_the_consumer_takes() {
    run(async {
        let ring = BufRing::new(64, 256)?;
        let (client, server) = util::pair().await;
        let mut incoming = server.recv_stream_with(&ring);
        incoming.limit(2);
        // Arm the receive; nothing was sent yet.
        let first = timeout(Duration::from_millis(20), incoming.next()).await;
        assert!(first.is_err(), "nothing was sent yet");
        // 32 KiB, 1 KiB (4 buffers) a write, with turns in between: without
        // a limit the receive would fill all 64 buffers and run dry.
        let data = pattern(3, 32 * 1024);
        for piece in data.chunks(1024) {
            let (r, _) = client.write_all(piece.to_vec()).await;
            r?;
            util::settle().await;
        }
        // Filled buffers wait in the op's queue, not yet `RingBuf`s: what
        // the limit kept out of the ring is still in the socket.
        let cancelled = shardio::stats().ops_cancelled;
        assert!(cancelled > 0, "the limit cancelled the receive");
        let unread = unread_bytes(&server);
        assert!(
            unread >= data.len() - 8 * 256,
            "only {unread} bytes left in the socket: the receive went on"
        );
        client.close().await?;
        let mut got = Vec::new();
        while let Some(buf) = timeout(Duration::from_secs(5), incoming.next()).await? {
            got.extend_from_slice(&buf?);
        }
        assert_eq!(got.len(), data.len());
        assert!(got == data, "bytes out of order or corrupted");
        drop(incoming);
        all_returned(&ring).await;
        Ok(())
    });
}

#[test]
fn stop_on_an_idle_stream_ends_it_and_holds_nothing() {
    run(async {
        let ring = BufRing::new(8, 256)?;
        let (client, server) = util::pair().await;
        let mut incoming = server.recv_stream_with(&ring);
        let armed = timeout(Duration::from_millis(20), incoming.next()).await;
        assert!(armed.is_err(), "nothing was sent yet");
        assert_eq!(shardio::stats().ops_in_flight, 1, "the receive is armed");
        incoming.stop();
        let end = timeout(Duration::from_secs(5), incoming.next()).await?;
        assert!(end.is_none(), "a stopped stream ends");
        assert!(incoming.is_stopped(), "ended by the stop, not the peer");
        assert!(incoming.next().await.is_none(), "and stays ended");
        util::settle().await;
        assert_eq!(shardio::stats().ops_in_flight, 0, "no receive left armed");
        assert_eq!(ring.in_use(), 0);
        // The next bytes wait in the socket for the next reader.
        let (r, _) = client.write_all(b"next".to_vec()).await;
        r?;
        let buf = timeout(Duration::from_secs(5), server.recv_ring(&ring)).await??;
        assert_eq!(&buf.expect("bytes, not the end")[..], b"next");
        Ok(())
    });
}

#[test]
fn the_peers_close_is_not_a_stop() {
    run(async {
        let ring = BufRing::new(8, 256)?;
        let (client, server) = util::pair().await;
        let mut incoming = server.recv_stream_with(&ring);
        client.close().await?;
        assert!(incoming.next().await.is_none(), "end of stream");
        incoming.stop();
        assert!(incoming.next().await.is_none());
        assert!(!incoming.is_stopped(), "the peer closed first");
        Ok(())
    });
}

/// Streams stopped while the peer keeps writing, each followed by a
/// single-shot receive and a new stream: whatever the kernel received
/// between a stop's request and its effect is yielded, never dropped.
#[test]
fn stops_racing_incoming_bytes_lose_nothing() {
    run(async {
        let ring = BufRing::new(32, 256)?;
        let (client, server) = util::pair().await;
        let data = pattern(5, 512 * 1024);
        let sender = shardio::spawn({
            let data = data.clone();
            async move {
                for piece in data.chunks(700) {
                    let (r, _) = client.write_all(piece.to_vec()).await;
                    r?;
                    shardio::yield_now().await;
                }
                client.close().await
            }
        });
        let mut got = Vec::new();
        let (mut stops, mut late) = (0, 0);
        'outer: loop {
            let mut incoming = server.recv_stream_with(&ring);
            match timeout(Duration::from_secs(5), incoming.next()).await? {
                Some(buf) => got.extend_from_slice(&buf?),
                None => break,
            }
            incoming.stop();
            stops += 1;
            while let Some(buf) = timeout(Duration::from_secs(5), incoming.next()).await? {
                got.extend_from_slice(&buf?);
                late += 1;
            }
            if !incoming.is_stopped() {
                break; // the peer closed while the stop was on its way
            }
            drop(incoming);
            match timeout(Duration::from_secs(5), server.recv_ring(&ring)).await?? {
                Some(buf) => got.extend_from_slice(&buf),
                None => break 'outer,
            }
        }
        sender.await.unwrap()?;
        assert_eq!(
            got.len(),
            data.len(),
            "{stops} stops, {late} chunks after a stop"
        );
        assert!(got == data, "bytes out of order or corrupted");
        assert!(stops > 10, "only {stops} stops");
        all_returned(&ring).await;
        Ok(())
    });
}

/// The stream keeps the waker of the task that last waited, so that it
/// clones none when the same task waits again; a chunk still wakes only
/// a task that is waiting, once, and the one that waited last.
#[test]
fn a_chunk_wakes_the_waiting_task_once_and_only_while_it_waits() {
    use futures_test::task::new_count_waker;
    use std::task::{Context, Poll, Waker};
    run(async {
        let ring = BufRing::new(8, 256)?;
        let (client, server) = util::pair().await;
        let mut incoming = server.recv_stream_with(&ring);
        let ((wa, a), (wb, b)) = (new_count_waker(), new_count_waker());
        let settle = || sleep(Duration::from_millis(30));
        let send = |byte: u8| {
            let client = &client;
            async move { client.write_all(vec![byte]).await.0 }
        };
        let mut next = |w: &Waker| match incoming.poll_next(&mut Context::from_waker(w)) {
            Poll::Ready(Some(buf)) => Some(buf.map(|b| b.to_vec())),
            Poll::Ready(None) => panic!("the stream ended"),
            Poll::Pending => None,
        };

        assert!(next(&wa).is_none(), "nothing sent yet");
        send(1).await?;
        settle().await;
        assert_eq!(a.get(), 1, "the waiting task is woken");
        assert_eq!(next(&wa).transpose()?, Some(vec![1]));

        // Not waiting: a chunk queues without a wake.
        send(2).await?;
        settle().await;
        assert_eq!(a.get(), 1, "a task that is not waiting is not woken");
        assert_eq!(next(&wa).transpose()?, Some(vec![2]));

        // Another task waits: it, not the first, is woken.
        assert!(next(&wb).is_none());
        send(3).await?;
        settle().await;
        assert_eq!((a.get(), b.get()), (1, 1), "the last waiter is woken");
        assert_eq!(next(&wb).transpose()?, Some(vec![3]));

        // The first waits again, and again is woken once.
        assert!(next(&wa).is_none());
        send(4).await?;
        send(5).await?;
        settle().await;
        assert_eq!((a.get(), b.get()), (2, 1), "one wake for two chunks");
        let mut got = Vec::new();
        while let Some(chunk) = next(&wa) {
            got.extend(chunk?);
        }
        assert_eq!(got, [4, 5]);
        drop(incoming);
        assert_eq!(ring.in_use(), 0);
        Ok(())
    });
}
