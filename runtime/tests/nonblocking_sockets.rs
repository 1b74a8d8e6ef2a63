//! Streams are non-blocking, readiness waits go through the ring, and the
//! vectored ops still wait for data rather than handing back `EAGAIN`.

mod util;

use shardio::net::TcpStream;
use std::os::fd::AsRawFd;

fn is_nonblocking(stream: &TcpStream) -> bool {
    // SAFETY: F_GETFL only reads the flags of an fd the stream keeps open.
    let flags = unsafe { libc::fcntl(stream.as_raw_fd(), libc::F_GETFL) };
    flags & libc::O_NONBLOCK != 0
}

#[test]
fn accepted_and_connected_streams_are_nonblocking() {
    shardio::block_on(async {
        let (client, server) = util::pair().await;
        assert!(is_nonblocking(&client), "connected stream is blocking");
        assert!(is_nonblocking(&server), "accepted stream is blocking");
    })
    .unwrap();
}

#[test]
fn readable_waits_for_data_and_writable_is_immediate() {
    shardio::block_on(async {
        let (client, server) = util::pair().await;
        client.writable().await.unwrap();
        let reader = shardio::spawn(async move {
            server.readable().await.unwrap();
            let (n, buf) = server.read(Vec::with_capacity(16)).await;
            (buf[..n.unwrap()].to_vec(), server)
        });
        shardio::time::sleep(std::time::Duration::from_millis(20)).await;
        let (r, _) = client.write_all(b"ready".to_vec()).await;
        r.unwrap();
        let (got, _server) = reader.await.unwrap();
        assert_eq!(got, b"ready");
    })
    .unwrap();
}

#[test]
fn readv_waits_on_a_nonblocking_socket() {
    shardio::block_on(async {
        let (client, server) = util::pair().await;
        let reader = shardio::spawn(async move {
            let bufs = vec![Vec::with_capacity(3), Vec::with_capacity(8)];
            let (n, bufs) = server.readv(bufs).await;
            (n.unwrap(), bufs)
        });
        // The read is in flight before any byte exists: it must wait.
        shardio::time::sleep(std::time::Duration::from_millis(20)).await;
        let (r, _) = client.writev(vec![b"abc".to_vec(), b"defg".to_vec()]).await;
        assert_eq!(r.unwrap(), 7);
        let (n, bufs) = reader.await.unwrap();
        assert_eq!(n, 7);
        assert_eq!(bufs[0], b"abc");
        assert_eq!(bufs[1], b"defg");
    })
    .unwrap();
}

#[test]
fn from_std_switches_to_nonblocking() {
    shardio::block_on(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let std_client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (_accepted, _) = listener.accept().unwrap();
        let client = TcpStream::from_std(std_client).unwrap();
        assert!(is_nonblocking(&client));
    })
    .unwrap();
}
