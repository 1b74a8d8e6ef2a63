//! Out of file descriptors at the accept loop: the server keeps serving
//! the connections it has, and accepts the ones that waited once
//! descriptors are free again. (Its own test binary: the descriptor limit
//! is the whole process's.)

mod util;

use shardio_http::{Request, Router};
use socket2::{Domain, Socket, Type};
use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::time::Duration;
use util::{Client, TestServer};

#[test]
fn out_of_descriptors_at_accept_is_survived_and_recovered_from() {
    // The kernel reads the limit when an accept is submitted, so it is
    // lowered before the server starts: room for the server's own
    // descriptors and two connections, no more.
    let limit = LowerLimit::to_open_plus(64);
    let server = TestServer::start(|| Router::new().get("/", |_r: Request| async { "root" }));
    let mut before = server.connect();
    assert_eq!(before.get("/").text(), "root");
    // Made while descriptors remain; connected once they are gone.
    let waiting = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();

    let hoard = take_every_free_descriptor();
    // The handshake completes in the listen backlog; the server's accept
    // fails with EMFILE, again after each pause, while this lasts.
    waiting.connect(&server.addr.into()).unwrap();
    let mut waiting = Client::from_stream(TcpStream::from(waiting));
    waiting.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    std::thread::sleep(Duration::from_millis(200));
    // A connection it has needs no descriptor to be served.
    assert_eq!(before.get("/").text(), "root");
    // The waiting one was not accepted: no answer.
    let set_timeout = |client: &Client, ms| {
        let timeout = Some(Duration::from_millis(ms));
        client.stream().set_read_timeout(timeout).unwrap();
    };
    set_timeout(&waiting, 100);
    let err = waiting.stream().read(&mut [0; 1]).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err}"
    );
    set_timeout(&waiting, 5_000);

    drop(hoard);
    assert_eq!(
        waiting.reply().expect("answered once accepted").text(),
        "root"
    );
    drop(limit);
    assert_eq!(server.connect().get("/").text(), "root");
    assert_eq!(before.get("/").text(), "root");
}

/// The process's descriptor limit, lowered until dropped.
struct LowerLimit(libc::rlimit);

impl LowerLimit {
    /// To `room` descriptors above the highest one open now.
    fn to_open_plus(room: u64) -> LowerLimit {
        let highest = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
            .max()
            .unwrap();
        let mut old = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `old` is a live local the call fills in.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut old) }, 0);
        let low = libc::rlimit {
            rlim_cur: highest + 1 + room,
            rlim_max: old.rlim_max,
        };
        // SAFETY: `low` is a live, initialized local.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &low) }, 0);
        LowerLimit(old)
    }
}

impl Drop for LowerLimit {
    fn drop(&mut self) {
        // SAFETY: `self.0` is a live, initialized field.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &self.0) }, 0);
    }
}

/// Opens descriptors until the limit refuses one.
fn take_every_free_descriptor() -> Vec<std::fs::File> {
    let mut hoard = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        hoard.push(f);
    }
    assert!(!hoard.is_empty(), "the limit left no room to take");
    hoard
}
