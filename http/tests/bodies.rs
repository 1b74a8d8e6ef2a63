//! Request bodies: sized and chunked, streamed in pieces, trailers for
//! the handler that reads to the end, 100-continue only when the handler
//! reads, unread remainders skipped or closing.

mod util;

use shardio_http::{Request, Response, Router};
use std::future::{poll_fn, Future};
use std::io::Read;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;
use util::TestServer;

fn server() -> TestServer {
    TestServer::start(|| {
        Router::new()
            .post("/echo", |mut r: Request| async move {
                r.take_body().collect().await
            })
            .post("/pieces", |mut r: Request| async move {
                let mut body = r.take_body();
                let (mut pieces, mut total) = (0, 0);
                while let Some(c) = body.chunk().await? {
                    pieces += 1;
                    total += c.len();
                }
                Ok::<_, shardio_http::BodyError>(format!("{pieces} {total}"))
            })
            .post("/trailers", |mut r: Request| async move {
                let body = r.body_mut();
                let mut n = 0;
                while let Some(c) = body.chunk().await? {
                    assert!(body.trailers().is_none(), "not before the end");
                    n += c.len();
                }
                let fields = match body.trailers() {
                    None => "none".to_string(),
                    Some(t) => t
                        .iter()
                        .map(|(k, v)| format!("{k}={};", String::from_utf8_lossy(v)))
                        .collect(),
                };
                Ok::<_, shardio_http::BodyError>(format!("{n} {fields}"))
            })
            .post("/ignore", |_r: Request| async { Response::text("ignored") })
            .post("/later", |_r: Request| async {
                // Not ready on its first poll, leaves its body unread, and
                // answers with a body large enough to be sent on its own.
                shardio::time::sleep(Duration::from_millis(5)).await;
                vec![b'l'; 100 * 1024]
            })
    })
}

#[test]
fn sized_and_chunked_bodies_echo() {
    let s = server();
    let mut c = s.connect();
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
    assert_eq!(c.reply().unwrap().text(), "hello");
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for piece in [
        "3\r\nabc\r\n",
        "4;x=y\r\ndefg\r\n",
        "0\r\nTrailer: 1\r\n\r\n",
    ] {
        std::thread::sleep(Duration::from_millis(5));
        c.send(piece);
    }
    assert_eq!(c.reply().unwrap().text(), "abcdefg");
    // The connection still works.
    assert_eq!(c.get("/nothing").status, 404);
}

#[test]
fn trailers_reach_the_handler_that_read_to_the_end() {
    let s = server();
    let mut c = s.connect();
    let head = "POST /trailers HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    // Sent a few bytes at a time, so the trailer lines arrive in pieces.
    c.send(head);
    let body = "3\r\nabc\r\n0\r\nChecksum: 12ab \r\nX-Note:\tone: two\r\nx-empty:\r\n\r\n";
    for piece in body.as_bytes().chunks(5) {
        std::thread::sleep(Duration::from_millis(2));
        c.send(piece);
    }
    assert_eq!(
        c.reply().unwrap().text(),
        "3 Checksum=12ab;X-Note=one: two;x-empty=;"
    );
    // In one write with the next request: the trailers end where they
    // should, and the request after them is read as a request.
    c.send(format!(
        "{head}0\r\nA: 1\r\n\r\nPOST /trailers HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi"
    ));
    assert_eq!(c.reply().unwrap().text(), "0 A=1;");
    assert_eq!(c.reply().unwrap().text(), "2 none", "a sized body has none");
    c.send(format!("{head}2\r\nok\r\n0\r\n\r\n"));
    assert_eq!(
        c.reply().unwrap().text(),
        "2 none",
        "a chunked body without any"
    );
    // A handler that leaves the body: its trailers are skipped with it.
    c.send("POST /ignore HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\nB: 2\r\n\r\n");
    assert_eq!(c.reply().unwrap().text(), "ignored");
    assert_eq!(c.get("/nothing").status, 404, "the connection goes on");
}

#[test]
fn a_large_body_streams_in_pieces() {
    let s = server();
    let mut c = s.connect();
    let body = vec![b'x'; 1 << 20];
    c.send(format!(
        "POST /pieces HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    c.send(&body);
    let reply = c.reply().unwrap();
    assert_eq!(reply.status, 200);
    let text = reply.text();
    let (pieces, total) = text.split_once(" ").unwrap();
    assert_eq!(total, "1048576");
    assert!(
        pieces.parse::<usize>().unwrap() > 1,
        "one piece per receive, not one copy"
    );
}

#[test]
fn expect_continue_only_when_the_handler_reads() {
    let s = server();
    // The handler reads: 100 first, then the answer.
    let mut c = s.connect();
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(c.reply().unwrap().status, 100);
    c.send("body");
    assert_eq!(c.reply().unwrap().text(), "body");

    // The handler does not read: no 100, the answer, and the connection
    // closes (the client may or may not send the body).
    let mut c = s.connect();
    c.send("POST /ignore HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "ignored"));
    assert!(c.is_closed());

    // Over the limit: 413 instead of 100.
    let mut c = s.connect();
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(c.reply().unwrap().status, 413);

    // HTTP/1.0: the expectation is ignored, and no 1xx is ever sent to
    // such a client (RFC 9110 §10.1.1, §15.2).
    let mut c = s.connect();
    c.send("POST /echo HTTP/1.0\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\nbody");
    let r = c.reply().unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "body"));
}

#[test]
fn a_small_unread_body_is_skipped_and_the_connection_reused() {
    let s = server();
    let mut c = s.connect();
    c.send("POST /ignore HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789");
    assert_eq!(c.reply().unwrap().text(), "ignored");
    c.send("POST /ignore HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n");
    assert_eq!(c.reply().unwrap().text(), "ignored");
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok");
    assert_eq!(c.reply().unwrap().text(), "ok");
}

#[test]
fn a_waiting_handler_that_leaves_its_body_and_answers_at_length_keeps_the_connection() {
    let s = server();
    let mut c = s.connect();
    // Pipelined: the second request waits behind all three steps of the
    // first (the handler, the skipped body, the large write).
    c.send(concat!(
        "POST /later HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789",
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok",
    ));
    let r = c.reply().unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.body, vec![b'l'; 100 * 1024]);
    assert_eq!(c.reply().unwrap().text(), "ok");
}

#[test]
fn a_large_unread_body_closes_the_connection() {
    let s = server();
    let mut c = s.connect();
    c.send("POST /ignore HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\nabc");
    let r = c.reply().unwrap();
    assert_eq!(r.header("connection"), Some("close"));
    assert!(c.is_closed());
}

#[test]
fn a_body_cut_short_is_an_error_not_a_hang() {
    let s = server();
    let mut c = s.connect();
    c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    c.stream().shutdown(std::net::Shutdown::Write).unwrap();
    let r = c.reply().unwrap();
    assert_eq!(r.status, 400);
}

/// A handler that arms a body read, leaves it unpolled while the body
/// arrives, drops it (as a lost `select!` branch does), then reads what is
/// left and answers with it, or with the error, leaving the rest unread.
async fn given_up_read(mut r: Request) -> String {
    let mut body = r.take_body();
    {
        let mut read = pin!(body.chunk());
        let armed = poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx).is_pending())).await;
        assert!(armed, "the body was not sent yet");
        shardio::time::sleep(Duration::from_millis(500)).await;
    }
    match body.chunk().await {
        Ok(Some(c)) => String::from_utf8_lossy(&c).into_owned(),
        Ok(None) => "end".into(),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn a_body_read_given_up_mid_receive_never_lets_the_body_run_into_the_next_request() {
    for multishot in [false, true] {
        let server = shardio_http::Server::new().multishot_receive(multishot);
        let s = TestServer::with(server, || {
            Router::new()
                .post("/given-up", given_up_read)
                .get("/", |_r: Request| async { "root" })
        });
        let mut c = s.connect();
        c.send("POST /given-up HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\n\r\n");
        // Arrives while the handler holds its read unpolled, with the next
        // request right behind it.
        std::thread::sleep(Duration::from_millis(100));
        c.send("payloadGET / HTTP/1.1\r\nHost: t\r\n\r\n");
        let r = c.reply().unwrap();
        if multishot {
            // The receive is the connection's: nothing was lost.
            assert_eq!(r.text(), "payload");
            assert_eq!(c.reply().unwrap().text(), "root");
        } else {
            // What the dropped receive took is gone, so where the body
            // ends is unknown: the body fails and the connection closes,
            // rather than reading the next request as body.
            assert_eq!(r.status, 200);
            assert!(r.text().contains("dropped"), "{}", r.text());
            assert_eq!(r.header("connection"), Some("close"));
            assert!(c.is_closed());
        }
    }
}

/// Polls a body read once (it starts sending `100 Continue`), holds it
/// unpolled for a while and drops it, then answers.
async fn give_up_continue(mut r: Request) -> &'static str {
    let mut body = r.take_body();
    {
        let mut read = pin!(body.chunk());
        let armed = poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx).is_pending())).await;
        assert!(armed, "the 100 Continue is on its way");
        shardio::time::sleep(Duration::from_millis(300)).await;
    }
    "after-drop"
}

#[test]
fn a_continue_send_given_up_part_way_is_followed_by_nothing() {
    let s = TestServer::start(|| Router::new().post("/continue", give_up_continue));
    let mut c = s.connect();
    c.send(
        "POST /continue HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    // The dropped send may have gone out whole, in part or not at all, and
    // the server cannot tell which: the stream ends there, so the handler's
    // answer never follows a cut `100 Continue` (or earlier answers) as if
    // it were the rest of it.
    let mut got = Vec::new();
    c.reader.read_to_end(&mut got).unwrap();
    assert!(
        b"HTTP/1.1 100 Continue\r\n\r\n".starts_with(&got),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
}
