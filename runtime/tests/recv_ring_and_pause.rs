//! `recv_ring` holds no buffer while it waits, waits for a buffer when the
//! ring is dry, and returns a filled buffer to the ring when dropped late;
//! `TcpListener::pause` stops the kernel from accepting without losing
//! connections accepted before it.

mod util;

use shardio::buf::BufRing;
use shardio::net::{TcpListener, TcpStream};
use std::time::Duration;

#[test]
fn recv_ring_waits_without_holding_a_buffer() {
    shardio::block_on(async {
        let ring = BufRing::new(2, 64).unwrap();
        let (client, server) = util::pair().await;
        let r2 = ring.clone();
        let reader = shardio::spawn(async move {
            let first = server.recv_ring(&r2).await.unwrap().unwrap();
            let got = first.to_vec();
            drop(first);
            let eof = server.recv_ring(&r2).await.unwrap();
            (got, eof.is_none())
        });
        shardio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(ring.in_use(), 0, "a waiting receive holds a buffer");
        let (r, _) = client.write_all(b"hello".to_vec()).await;
        r.unwrap();
        shardio::time::sleep(Duration::from_millis(20)).await;
        drop(client);
        let (got, eof) = reader.await.unwrap();
        assert_eq!(got, b"hello");
        assert!(eof);
        assert_eq!(ring.in_use(), 0);
    })
    .unwrap();
}

#[test]
fn recv_ring_waits_for_a_dry_ring_to_refill() {
    shardio::block_on(async {
        let ring = BufRing::new(1, 64).unwrap();
        let (client, server) = util::pair().await;
        let (other_client, other) = util::pair().await;
        let (r, _) = other_client.write_all(b"x".to_vec()).await;
        r.unwrap();
        let held = other.recv_ring(&ring).await.unwrap().unwrap();
        assert_eq!(ring.in_use(), 1);
        let r2 = ring.clone();
        let reader =
            shardio::spawn(async move { server.recv_ring(&r2).await.unwrap().unwrap().to_vec() });
        let (r, _) = client.write_all(b"later".to_vec()).await;
        r.unwrap();
        shardio::time::sleep(Duration::from_millis(30)).await;
        assert!(!reader.is_finished(), "received with no buffer free");
        drop(held);
        assert_eq!(reader.await.unwrap(), b"later");
    })
    .unwrap();
}

#[test]
fn dropped_recv_ring_gives_its_buffer_back() {
    shardio::block_on(async {
        let ring = BufRing::new(4, 64).unwrap();
        let (client, server) = util::pair().await;
        let fut = server.recv_ring(&ring);
        let r = shardio::time::timeout(Duration::from_millis(10), fut).await;
        assert!(r.is_err());
        let (w, _) = client.write_all(b"late".to_vec()).await;
        w.unwrap();
        let got = server.recv_ring(&ring).await.unwrap().unwrap();
        assert_eq!(&got[..], b"late");
        drop(got);
        assert_eq!(ring.in_use(), 0);
    })
    .unwrap();
}

#[test]
fn paused_listener_leaves_connections_in_the_backlog() {
    shardio::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _c1 = TcpStream::connect(addr).await.unwrap();
        let (_s1, _) = listener.accept().await.unwrap();
        listener.pause();
        // Let the cancellation land, then connect twice: the handshakes
        // complete and the connections wait in the kernel's backlog.
        shardio::time::sleep(Duration::from_millis(20)).await;
        let _c2 = TcpStream::connect(addr).await.unwrap();
        let _c3 = TcpStream::connect(addr).await.unwrap();
        shardio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(backlog(&listener), 2, "the paused listener kept accepting");
        let before = shardio::stats().connections_accepted;
        let (_s2, _) = listener.accept().await.unwrap();
        let (_s3, _) = listener.accept().await.unwrap();
        assert_eq!(shardio::stats().connections_accepted, before + 2);
    })
    .unwrap();
}

/// Connections waiting in a listener's accept queue (`tcpi_unacked` of a
/// listening socket).
fn backlog(listener: &TcpListener) -> u32 {
    use std::os::fd::AsRawFd;
    // SAFETY: `tcp_info` is plain old data; all-zero is valid.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` and `len` outlive the call; the listener keeps its fd.
    let rc = unsafe {
        libc::getsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0);
    info.tcpi_unacked
}
