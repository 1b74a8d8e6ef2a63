//! Failures are counted by kind, never silently dropped: refused connects,
//! error statuses, connections closed without an answer, responses that are
//! not HTTP, and requests that never get an answer; and what is sent (method,
//! body) reaches the server intact.

mod util;

use socket2::{Domain, Socket, Type};
use std::net::SocketAddr;
use std::time::Duration;
use util::{config, run, Answer, Server};

const SHORT: Duration = Duration::from_millis(400);

#[test]
fn refused_connects_are_connect_errors() {
    // A port that is bound but never listened on refuses every connect, and
    // while the socket is held no other test's server can take the port.
    let bound = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    bound
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    let port = bound.local_addr().unwrap().as_socket().unwrap().port();
    let report = run(config(&format!("http://127.0.0.1:{port}/"), 2, SHORT));
    drop(bound);
    assert_eq!(report.responses, 0);
    assert!(report.errors.connect >= 2, "{report:#?}");
    assert_eq!(report.errors.total(), report.errors.connect);
}

#[test]
fn statuses_are_counted_by_code() {
    let server = Server::start(
        |n| {
            if n % 2 == 0 {
                Answer::Ok
            } else {
                Answer::Status(503)
            }
        },
        None,
    );
    let report = run(config(&server.url(), 2, SHORT));
    let ok = report.statuses.get(&200).copied().unwrap_or(0);
    let unavailable = report.statuses.get(&503).copied().unwrap_or(0);
    assert!(ok > 10 && unavailable > 10, "{report:#?}");
    assert_eq!(report.unsuccessful(), unavailable);
    assert_eq!(report.errors.total(), 0);
}

#[test]
fn unanswered_and_malformed_responses_are_errors() {
    let server = Server::start(
        |n| {
            if n % 4 == 3 {
                Answer::Close
            } else {
                Answer::Ok
            }
        },
        None,
    );
    let report = run(config(&server.url(), 2, SHORT));
    assert!(
        report.errors.read > 0 && report.responses > 0,
        "{report:#?}"
    );
    // Roughly one request in four was dropped; the others were answered on
    // new connections.
    assert!(report.errors.read * 2 < report.responses, "{report:#?}");

    let server = Server::start(|_| Answer::Garbage, None);
    let report = run(config(&server.url(), 2, SHORT));
    assert!(report.errors.invalid > 0, "{report:#?}");
    assert_eq!(report.responses, 0);
}

#[test]
fn requests_without_an_answer_time_out() {
    let server = Server::start(|_| Answer::Never, None);
    let mut c = config(&server.url(), 3, Duration::from_millis(700));
    c.timeout = Duration::from_millis(200);
    let report = run(c);
    assert_eq!(report.responses, 0);
    // Each connection times out about every 200 ms, then reconnects.
    assert!(report.errors.timeout >= 6, "{report:#?}");
}

#[test]
fn bodies_and_methods_reach_the_server() {
    let server = Server::start(|_| Answer::Ok, None);
    let mut c = config(&server.url(), 2, Duration::from_millis(300));
    c.method = "POST".into();
    c.body = Some(bytes::Bytes::from(vec![b'x'; 1000]));
    let report = run(c);
    assert!(
        report.responses > 0 && report.errors.total() == 0,
        "{report:#?}"
    );
    let requests = server.requests();
    assert!(requests.len() as u64 >= report.sent);
    assert!(
        requests
            .iter()
            .all(|r| r.method == "POST" && r.body == 1000),
        "{:?}",
        &requests[..1]
    );
}

#[test]
fn no_keepalive_opens_a_connection_per_request() {
    // The server would keep connections open; the generator must not reuse
    // them.
    let server = Server::start(|_| Answer::Ok, None);
    let mut c = config(&server.url(), 2, Duration::from_millis(300));
    c.keepalive = false;
    let report = run(c);
    assert!(
        report.responses > 10 && report.errors.total() == 0,
        "{report:#?}"
    );
    assert!(
        server.connections() >= report.sent,
        "{} connections for {} requests",
        server.connections(),
        report.sent
    );
}
