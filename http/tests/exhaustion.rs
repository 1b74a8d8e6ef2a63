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
use util::{take_every_free_descriptor, Client, LowerLimit, TestServer};

#[test]
fn out_of_descriptors_at_accept_is_survived_and_recovered_from() {
    // The kernel reads the limit when an accept is submitted, so it is
    // lowered before the server starts: room for the server's own
    // descriptors and two connections, no more.
    let limit = LowerLimit::to_open_plus(64);
    let server = TestServer::start(|| {
        Router::new()
            .get("/", |_r: Request| async { "root" })
            .get("/accept-errors", |_r: Request| async {
                shardio::stats().accept_errors.to_string()
            })
    });
    let mut before = server.connect();
    assert_eq!(before.get("/").text(), "root");
    assert_eq!(before.get("/accept-errors").text(), "0");
    // Made while descriptors remain; connected once they are gone.
    let waiting = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();

    let hoard = take_every_free_descriptor();
    assert!(!hoard.is_empty(), "the limit left no room to take");
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
    // Failed accepts are counted. With a 10 ms pause after each, the
    // third of a second above makes a few dozen; a loop that did not
    // pause would have made many thousands.
    let errors: u64 = before.get("/accept-errors").text().parse().unwrap();
    assert!((1..1_000).contains(&errors), "{errors} failed accepts");
}
