//! The whole connection state machine fed arbitrary bytes over a real
//! socket: the server never panics, answers only with well-formed status
//! lines, and always ends the connection once the client has stopped.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shardio_http::{Limits, Request, Router, Server, Timeouts};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::Duration;

fn server() -> SocketAddr {
    static ADDR: OnceLock<SocketAddr> = OnceLock::new();
    *ADDR.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            shardio::block_on(async move {
                let listener = shardio::net::TcpListener::bind("127.0.0.1:0").unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let router = Router::new()
                    .get("/", |_r: Request| async { "root" })
                    .get("/u/:id", |r: Request| async move { r.param("id").unwrap_or("").to_owned() })
                    .post("/echo", |mut r: Request| async move { r.take_body().collect().await });
                let limits = Limits {
                    max_body: 64 * 1024,
                    ..Limits::default()
                };
                let timeouts = Timeouts {
                    header: Duration::from_millis(500),
                    body_read: Duration::from_millis(500),
                    idle: Duration::from_millis(500),
                    write: Duration::from_millis(500),
                };
                Server::new()
                    .limits(limits)
                    .timeouts(timeouts)
                    .serve_until(listener, router, std::future::pending())
                    .await
                    .unwrap();
            })
            .unwrap();
        });
        rx.recv().unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let mut s = TcpStream::connect(server()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // The server may close early (a bad request): a failed write is fine.
    let _ = s.write_all(data);
    let _ = s.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    match s.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
        Err(e) => panic!("the server neither answered nor closed: {e}"),
    }
    if !out.is_empty() {
        assert!(
            out.starts_with(b"HTTP/1.1 ") || out.starts_with(b"HTTP/1.0 "),
            "not a status line: {:?}",
            String::from_utf8_lossy(&out[..out.len().min(64)])
        );
    }
});
