//! `Receive::Adaptive` (the default): a connection that keeps asking moves
//! to a multishot receive, gives it up once it idles for a tick of the
//! deadline sweep, and loses no byte that arrives while it does.

mod util;

use shardio_http::{Receive, Request, Router, Server, Timeouts};
use std::time::Duration;
use util::{pattern, TestServer};

/// The sweep's tick with these timeouts: an eighth of the shorter.
const TICK: Duration = Duration::from_millis(100);

fn server() -> TestServer {
    server_with(Server::new().receive(Receive::Adaptive))
}

fn server_with(server: Server) -> TestServer {
    let timeouts = Timeouts {
        idle: Duration::from_millis(1_600),
        write: Duration::from_millis(800),
        ..Timeouts::default()
    };
    let server = server.timeouts(timeouts);
    TestServer::with(server, || {
        Router::new()
            .get("/n/:n", |r: Request| async move {
                r.param("n").unwrap_or_default().into_owned()
            })
            .post("/echo", |mut r: Request| async move {
                r.take_body().collect().await
            })
            // Cancellations pushed by this shard: a stopped multishot
            // receive is one.
            .get("/cancelled", |_r: Request| async {
                shardio::stats().ops_cancelled.to_string()
            })
            .get("/submitted", |_r: Request| async {
                shardio::stats().ops_submitted.to_string()
            })
    })
}

fn number(c: &mut util::Client, path: &str) -> u64 {
    c.get(path).text().parse().expect("a number")
}

/// Ops submitted for one request on `c`: 2 with a receive per wait (the
/// receive and the send), 1 with a multishot receive (the send).
fn ops_per_request(c: &mut util::Client) -> u64 {
    let a = number(c, "/submitted");
    number(c, "/submitted") - a
}

#[test]
fn a_busy_connection_receives_by_stream_and_gives_it_up_when_idle() {
    let s = server();
    let mut c = s.connect();
    // The first two requests are received by a receive per wait: two ops
    // each (the receive and the send). From the third on, one multishot
    // receive serves them all: one op each (the send).
    assert_eq!(
        ops_per_request(&mut c),
        2,
        "a receive per wait, then the send"
    );
    for _ in 0..3 {
        number(&mut c, "/submitted");
    }
    assert_eq!(
        ops_per_request(&mut c),
        1,
        "one multishot receive for every request"
    );

    // Idle for more than a tick (the sweep passes once a tick): the
    // receive is stopped, by a cancellation, and the connection stays.
    let cancelled = number(&mut c, "/cancelled");
    std::thread::sleep(TICK * 4);
    let after = number(&mut c, "/cancelled");
    assert_eq!(after - cancelled, 1, "one stop");
    // Back to a receive per wait for two requests, then a stream again.
    assert_eq!(
        ops_per_request(&mut c),
        2,
        "a receive per wait after the stop"
    );
    for _ in 0..3 {
        number(&mut c, "/submitted");
    }
    assert_eq!(ops_per_request(&mut c), 1, "a multishot receive again");
}

#[test]
fn no_more_connections_keep_a_stream_than_the_shard_allows() {
    // The default mode, with room for one stream.
    let s = server_with(Server::new().max_multishot(1));
    let mut first = s.connect();
    let mut second = s.connect();
    for _ in 0..4 {
        number(&mut first, "/submitted");
        number(&mut second, "/submitted");
    }
    assert_eq!(ops_per_request(&mut first), 1, "the first has the stream");
    assert_eq!(ops_per_request(&mut second), 2, "none left for the second");
    assert_eq!(ops_per_request(&mut second), 2, "it keeps asking, in vain");

    // The first idles a tick and stops its stream: the second takes it
    // at its next wait, and the first, asking again, finds none.
    std::thread::sleep(TICK * 4);
    number(&mut second, "/submitted");
    assert_eq!(ops_per_request(&mut second), 1, "the second has it now");
    for _ in 0..4 {
        number(&mut first, "/submitted");
    }
    assert_eq!(ops_per_request(&mut first), 2, "none left for the first");

    // A connection that closes with a stream gives it back.
    drop(second);
    // Time for the server to see the close.
    std::thread::sleep(TICK / 2);
    let mut third = s.connect();
    for _ in 0..4 {
        number(&mut third, "/submitted");
    }
    // Whichever of the two asked first after the close has it; the
    // other has a receive per wait.
    let mut counts = [ops_per_request(&mut first), ops_per_request(&mut third)];
    counts.sort_unstable();
    assert_eq!(counts, [1, 2], "one stream, back in use");
}

#[test]
fn with_no_streams_allowed_every_wait_submits_a_receive() {
    let s = server_with(Server::new().max_multishot(0));
    let mut c = s.connect();
    for _ in 0..6 {
        assert_eq!(ops_per_request(&mut c), 2);
    }
}

#[test]
fn a_connection_with_one_request_never_makes_a_stream() {
    let s = server();
    let mut c = s.connect();
    let cancelled = number(&mut c, "/cancelled");
    std::thread::sleep(TICK * 4);
    assert_eq!(number(&mut c, "/cancelled"), cancelled, "nothing to stop");
}

#[test]
fn requests_arriving_as_the_receive_stops_are_served() {
    let s = server();
    let mut c = s.connect();
    // Pauses around the tick, so that requests land before, during and
    // after the stop; each is answered, in order, on the same connection.
    for i in 0..40u64 {
        for j in 0..3 {
            assert_eq!(c.get(&format!("/n/{i}-{j}")).text(), format!("{i}-{j}"));
        }
        let jitter = Duration::from_millis((i * 37) % 90);
        std::thread::sleep(TICK + jitter);
    }
    // A head split around a stop, and a body after it.
    for _ in 0..4 {
        number(&mut c, "/submitted");
    }
    c.send("GET /n/split HTTP/1.1\r\nHo");
    std::thread::sleep(TICK * 3);
    c.send("st: t\r\n\r\n");
    assert_eq!(c.reply().expect("a reply").text(), "split");
    for _ in 0..4 {
        number(&mut c, "/submitted");
    }
    let body = pattern(64 * 1024);
    c.send(format!(
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    std::thread::sleep(TICK * 3);
    c.send(&body);
    let reply = c.reply().expect("a reply");
    assert!(reply.body == body, "the body arrives whole and in order");
}

#[test]
fn pipelined_bursts_across_stops_stay_in_order() {
    let s = server();
    let mut c = s.connect();
    for round in 0..6 {
        let burst: String = (0..50)
            .map(|i| format!("GET /n/{round}-{i} HTTP/1.1\r\nHost: t\r\n\r\n"))
            .collect();
        c.send(burst);
        for i in 0..50 {
            let reply = c.reply().expect("a reply");
            assert_eq!(reply.text(), format!("{round}-{i}"));
        }
        std::thread::sleep(TICK * 3);
    }
}
