//! `Server::multishot_receive`: the same answers with one receive kept
//! armed per connection, and a client that floods a busy connection does
//! not drain the shard's receive buffers.

mod util;

use shardio_http::{Request, Router, Server};
use std::io::Write;
use std::time::Duration;
use util::{pattern, TestServer};

fn server() -> TestServer {
    TestServer::with(Server::new().multishot_receive(true), || {
        Router::new()
            .get("/", |_r: Request| async { "root" })
            .get("/n/:n", |r: Request| async move {
                r.param("n").unwrap_or_default().to_owned()
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
