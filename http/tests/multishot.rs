//! `Server::multishot_receive`: the same answers with one receive kept
//! armed per connection, and a client that floods a busy connection does
//! not drain the shard's receive buffers.

mod util;

use shardio_http::{Request, Router, Server};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;
use util::{pattern, TestServer};

fn server() -> TestServer {
    server_in(true)
}

fn server_in(multishot: bool) -> TestServer {
    TestServer::with(Server::new().multishot_receive(multishot), || {
        Router::new()
            .get("/", |_r: Request| async { "root" })
            .get("/n/:n", |r: Request| async move {
                r.param("n").unwrap_or_default().into_owned()
            })
            .post("/echo", |mut r: Request| async move {
                r.take_body().collect().await
            })
            .post("/slow", |_r: Request| async {
                // Busy, and not reading the body.
                shardio::time::sleep(Duration::from_millis(400)).await;
                "slow"
            })
            .get("/starved", |_r: Request| async {
                shardio::stats().recv_starved.to_string()
            })
    })
}

#[test]
fn keep_alive_and_pipelined_requests_are_answered_in_order() {
    let s = server();
    let mut c = s.connect();
    for i in 0..20 {
        assert_eq!(c.get(&format!("/n/{i}")).text(), i.to_string());
    }
    let burst: String = (0..200)
        .map(|i| format!("GET /n/{i} HTTP/1.1\r\nHost: t\r\n\r\n"))
        .collect();
    c.send(burst);
    for i in 0..200 {
        assert_eq!(c.reply().expect("a reply").text(), i.to_string());
    }
    // A head split across writes is put together.
    c.send("GET /n/7 HT");
    std::thread::sleep(Duration::from_millis(20));
    c.send("TP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.reply().unwrap().text(), "7");
}

#[test]
fn bodies_larger_than_the_limit_of_buffers_arrive_whole() {
    let s = server();
    let mut c = s.connect();
    // 1 MiB: many times the buffers a connection may hold unread, so the
    // receive is stopped and armed again along the way.
    let body = pattern(1 << 20);
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let stream = c.stream().try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let mut stream = stream;
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&body).unwrap();
        body
    });
    let r = c.reply().expect("a reply");
    let body = writer.join().unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body == body, "the echoed body differs");
    assert_eq!(c.get("/").text(), "root", "the connection goes on");
}

#[test]
fn a_flood_on_a_busy_connection_does_not_drain_the_ring() {
    let s = server();
    // 4 MiB of body behind a request whose handler sleeps without reading:
    // twice the shard's ring (512 × 4 KiB). Unbounded, the receive would
    // pull it all in and run the ring dry for every connection.
    let flooder = s.connect();
    let stream = flooder.stream().try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let mut stream = stream;
        let body = vec![b'x'; 4 << 20];
        let head = format!(
            "POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        // The server may close once it has answered: errors are fine.
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&body);
    });
    std::thread::sleep(Duration::from_millis(200));
    let mut other = s.connect();
    assert_eq!(other.get("/").text(), "root");
    assert_eq!(
        other.get("/starved").text(),
        "0",
        "a receive found the ring empty"
    );
    let mut flooder = flooder;
    let r = flooder.reply().expect("the slow answer");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "slow");
    drop(flooder);
    writer.join().unwrap();
    assert_eq!(other.get("/").text(), "root");
}

/// Sends `input` on a new connection, ends the write side and reads all
/// the server says until it closes, with every `date` value blanked.
fn exchange(addr: SocketAddr, input: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(input);
    let _ = s.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    s.read_to_end(&mut out)
        .expect("the server closes after answering");
    let text = String::from_utf8_lossy(&out).into_owned();
    let mut kept = String::new();
    for (i, piece) in text.split("\r\ndate: ").enumerate() {
        if i == 0 {
            kept.push_str(piece);
        } else {
            // The value runs to the end of its line.
            let end = piece.find("\r\n").unwrap_or(piece.len());
            kept.push_str("\r\ndate: -");
            kept.push_str(&piece[end..]);
        }
    }
    kept.into_bytes()
}

#[test]
fn both_receive_modes_answer_the_same_bytes_alike() {
    let (single, multi) = (server_in(false), server_in(true));
    let big = "x".repeat(20_000);
    let cases: Vec<(&str, String)> = vec![
        (
            "pipelined requests and a sized body",
            "GET /n/1 HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n\
             POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello\
             GET /n/2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                .into(),
        ),
        (
            "a chunked body with an extension and a trailer, then a request",
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
             3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n\
             GET /n/3 HTTP/1.1\r\nHost: t\r\n\r\n"
                .into(),
        ),
        (
            "Content-Length with Transfer-Encoding: nothing after it is parsed",
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\
             Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /n/4 HTTP/1.1\r\nHost: t\r\n\r\n"
                .into(),
        ),
        (
            "a malformed chunk size",
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
             zz\r\nabc\r\n0\r\n\r\n"
                .into(),
        ),
        (
            "100-continue with the body sent at once",
            "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n\
             Content-Length: 3\r\n\r\nabc"
                .into(),
        ),
        (
            "a body over the limit of buffers a connection may hold",
            format!(
                "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{big}\
                 GET /n/5 HTTP/1.1\r\nHost: t\r\n\r\n",
                big.len()
            ),
        ),
        (
            "HTTP/1.0 keep-alive, then obs-fold",
            "GET /n/6 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n\
             GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n"
                .into(),
        ),
        (
            "an unsupported version",
            "GET / HTTP/2.0\r\nHost: t\r\n\r\n".into(),
        ),
        // The client left before its head was whole: nothing to answer.
        ("a head cut short", "GET /n/7 HTTP/1.1\r\nHost:".into()),
    ];
    for (what, input) in &cases {
        let a = exchange(single.addr, input.as_bytes());
        let b = exchange(multi.addr, input.as_bytes());
        let silent = *what == "a head cut short";
        assert!(
            a.starts_with(b"HTTP/1.") || (silent && a.is_empty()),
            "{what}: {:?}",
            String::from_utf8_lossy(&a)
        );
        assert_eq!(
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b),
            "{what}: the receive modes answered differently"
        );
    }
}
