//! The TcpStream surface: vectored I/O, shutdown, options, addresses, close,
//! connect errors, and every buffer type through a real socket.

mod util;

use bytes::{Bytes, BytesMut};
use shardio::net::TcpStream;
use shardio::IoBuf;
use socket2::{Domain, Socket, Type};
use std::net::{Shutdown, SocketAddr};

#[test]
fn readv_and_writev() {
    shardio::block_on(async {
        let (client, server) = util::pair().await;
        let (n, _) = client
            .writev(vec![
                b"hello ".to_vec(),
                b"vectored ".to_vec(),
                b"world".to_vec(),
            ])
            .await;
        assert_eq!(n.unwrap(), 20);
        let mut got = Vec::new();
        while got.len() < 20 {
            let (n, bufs) = server
                .readv(vec![Vec::with_capacity(4), Vec::with_capacity(64)])
                .await;
            let n = n.unwrap();
            assert!(n > 0);
            for b in bufs {
                got.extend_from_slice(&b);
            }
        }
        assert_eq!(got, b"hello vectored world");
    })
    .unwrap();
}

#[test]
fn shutdown_write_gives_eof() {
    shardio::block_on(async {
        let (client, server) = util::pair().await;
        client.shutdown(Shutdown::Write).await.unwrap();
        let (n, _) = server.read(Vec::with_capacity(8)).await;
        assert_eq!(n.unwrap(), 0);
        // The other direction still works.
        let (w, _) = server.write_all(b"still open".to_vec()).await;
        w.unwrap();
        let (n, b) = client.read(Vec::with_capacity(16)).await;
        assert_eq!(&b[..n.unwrap()], b"still open");
    })
    .unwrap();
}

#[test]
fn options_and_addresses() {
    shardio::block_on(async {
        let (client, server) = util::pair().await;
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        assert_eq!(client.peer_addr().unwrap(), server.local_addr().unwrap());
        assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
        client.close().await.unwrap();
        let (n, _) = server.read(Vec::with_capacity(8)).await;
        assert_eq!(n.unwrap(), 0);
    })
    .unwrap();
}

#[test]
fn connect_refused_is_an_error() {
    shardio::block_on(async {
        // Bound but never listened on: the port refuses connects, and no
        // other test's listener can take it while the socket is held.
        let bound = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        bound
            .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        let addr = bound.local_addr().unwrap().as_socket().unwrap();
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        assert_eq!(shardio::stats().connections_open, 0);
    })
    .unwrap();
}

#[test]
fn every_buffer_type_round_trips() {
    shardio::block_on(async {
        let (client, server) = util::pair().await;
        let (r, _) = client.write_all(Bytes::from_static(b"bytes|")).await;
        r.unwrap();
        let (r, _) = client.write_all(BytesMut::from(&b"bytesmut|"[..])).await;
        r.unwrap();
        let (r, _) = client
            .write_all(b"boxed|".to_vec().into_boxed_slice())
            .await;
        r.unwrap();
        let (r, _) = client.write_all("static|").await;
        r.unwrap();
        let (r, _) = client.write_all(b"xxsliceyy".to_vec().slice(2..7)).await;
        r.unwrap();
        let expected = b"bytes|bytesmut|boxed|static|slice";
        let mut got = BytesMut::with_capacity(64);
        while got.len() < expected.len() {
            let filled = got.len();
            let (n, g) = server.read(got.slice(filled..)).await;
            assert!(n.unwrap() > 0);
            got = g.into_inner();
        }
        assert_eq!(&got[..], expected);

        // A boxed slice is filled from its start.
        let (r, _) = client.write_all(b"abc".to_vec()).await;
        r.unwrap();
        let boxed = vec![b'-'; 8].into_boxed_slice();
        let (n, boxed) = server.read(boxed).await;
        assert_eq!(n.unwrap(), 3);
        assert_eq!(&boxed[..], b"abc-----");

        // A slice of a buffer is filled within its range only.
        let (r, _) = client.write_all(b"xyz".to_vec()).await;
        r.unwrap();
        let (n, slice) = server.read(boxed.slice(4..6)).await;
        assert_eq!(n.unwrap(), 2);
        assert_eq!(&slice.into_inner()[..], b"abc-xy--");
        let (n, v) = server.read(Vec::with_capacity(8)).await;
        assert_eq!(&v[..n.unwrap()], b"z");

        // A read into a non-empty Vec overwrites from the start; appending
        // goes through a slice past its length.
        let (r, _) = client.write_all(b"12".to_vec()).await;
        r.unwrap();
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(b"ab");
        let (n, v) = server.read(v.slice(2..)).await;
        assert_eq!(n.unwrap(), 2);
        assert_eq!(&v.into_inner()[..], b"ab12");
    })
    .unwrap();
}

/// A buffer far larger than the socket's send buffer, to a reader that
/// takes pieces with pauses: however the kernel splits the send (one send
/// it retries itself, or short sends that `write_all` resumes from where
/// each stopped), every byte arrives once and in order, and the buffer
/// comes back whole.
#[test]
fn write_all_of_many_socket_buffers_arrives_in_order() {
    const LEN: usize = 24 << 20;
    shardio::block_on(async {
        let (client, server) = util::pair().await;
        let data: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
        let writer = shardio::spawn(async move {
            let (r, back) = client.write_all(data).await;
            r.unwrap();
            assert_eq!(back.len(), LEN);
            assert!(back.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
            client.close().await.unwrap();
        });
        let mut seen = 0usize;
        let mut reads = 0usize;
        let mut buf = Vec::with_capacity(64 * 1024);
        loop {
            let (n, b) = server.read(buf).await;
            let n = n.unwrap();
            if n == 0 {
                break;
            }
            assert!(
                b[..n]
                    .iter()
                    .enumerate()
                    .all(|(i, &x)| x == ((seen + i) % 251) as u8),
                "bytes out of order near offset {seen}"
            );
            seen += n;
            reads += 1;
            if reads % 64 == 0 {
                shardio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            buf = b;
        }
        assert_eq!(seen, LEN);
        writer.await.unwrap();
    })
    .unwrap();
}
