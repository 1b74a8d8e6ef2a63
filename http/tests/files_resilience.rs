//! Static files under failure: clients that reset mid-body or stop
//! reading, running out of fds, and the cache's bound. One test, because
//! it counts the process's open fds.

mod util;

use shardio_http::{Server, Timeouts};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use util::{open_fds, pattern, take_every_free_descriptor, LowerLimit, Site};

/// Waits up to 5 s for the open fd count to come down to `want`.
fn settle_to(want: usize) -> usize {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let n = open_fds();
        if n <= want || Instant::now() > until {
            return n;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn request_big(addr: std::net::SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    s
}

fn reset(s: TcpStream) {
    socket2::SockRef::from(&s)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(s);
}

#[test]
fn failures_leak_nothing_and_are_survived() {
    let site = Site::new("resilience");
    let data = pattern(64 << 20);
    site.write("big.bin", &data);
    for i in 0..5 {
        site.write(&format!("f{i}.txt"), format!("file {i}"));
    }
    let server = Server::new().timeouts(Timeouts {
        write: Duration::from_millis(300),
        ..Timeouts::default()
    });
    let server = site.serve_with(server, |f| f.cache_capacity(2));
    let addr = server.addr;

    // Warm up: the big file is cached (its fd stays open).
    let mut c = server.connect();
    assert!(c.get("/big.bin").body == data);
    drop(c);
    let baseline = settle_to(0);

    // Clients that read a little of a 64 MiB body and reset.
    let clients: Vec<TcpStream> = (0..20).map(|_| request_big(addr)).collect();
    for (i, mut s) in clients.into_iter().enumerate() {
        let mut buf = vec![0; 64 << 10];
        let mut got = 0;
        while got < (i + 1) * (16 << 10) {
            got += s.read(&mut buf).unwrap();
        }
        reset(s);
    }
    assert_eq!(settle_to(baseline), baseline, "fds leaked after resets");
    let mut c = server.connect();
    assert!(c.get("/big.bin").body == data, "served after the resets");
    drop(c);
    settle_to(baseline);

    // A client that stops reading is cut off after the write deadline,
    // though the body has far to go.
    let mut stalled = request_big(addr);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        settle_to(baseline + 1),
        baseline + 1,
        "the server still holds the stalled connection"
    );
    stalled
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut received = Vec::new();
    let _ = stalled.read_to_end(&mut received);
    assert!(
        received.len() < data.len(),
        "a stalled client got the whole body ({} bytes)",
        received.len()
    );
    drop(stalled);
    settle_to(baseline);

    // The cache holds at most its capacity of open files.
    let mut c = server.connect();
    for i in 0..5 {
        assert_eq!(c.get(&format!("/f{i}.txt")).text(), format!("file {i}"));
    }
    assert!(
        open_fds() <= baseline + 1 + 2,
        "the cache outgrew its bound"
    );

    // Out of fds: a lookup that needs one gets 503, and the server
    // recovers once fds are available again.
    assert_eq!(c.get("/f0.txt").text(), "file 0");
    let limit = LowerLimit::to_open_plus(0);
    let hoard = take_every_free_descriptor();
    let r = c.get("/f3.txt");
    drop(hoard);
    drop(limit);
    assert_eq!(r.status, 503);
    assert_eq!(c.get("/f3.txt").text(), "file 3");
}
