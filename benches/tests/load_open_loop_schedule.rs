//! The open loop sends at the rate asked, evenly spread over time, and the
//! closed loop with pipelining reads every response of each batch; warm-up
//! load is sent but not counted.

mod util;

use std::time::Duration;
use util::{config, run, Answer, Server};

#[test]
fn open_loop_honours_the_schedule() {
    let server = Server::start(|_| Answer::Ok, None);
    let mut c = config(&server.url(), 4, Duration::from_secs(2));
    c.rate = Some(500.0);
    let report = run(c);
    // 2 s at 500/s: exactly 1,000 scheduled requests, all sent and answered.
    assert_eq!(report.sent, 1_000, "{report:#?}");
    assert_eq!(report.responses, 1_000);
    assert_eq!(report.statuses.get(&200), Some(&1_000));

    // Spread evenly: every 200 ms slice of the run saw about 100 arrivals,
    // not bursts.
    let arrivals = server.arrivals();
    let first = arrivals[0];
    let mut slices = [0u32; 10];
    for t in &arrivals {
        let slice = ((*t - first).as_millis() / 200) as usize;
        slices[slice.min(9)] += 1;
    }
    for (i, n) in slices.iter().enumerate() {
        assert!(
            (70..=130).contains(n),
            "slice {i} saw {n} requests: {slices:?}"
        );
    }
    // And no request waited behind another: gaps between arrivals stay a
    // small multiple of the 2 ms interval. A sender that batched would
    // leave a wide gap before every batch; one or two come from the
    // machine (a test thread descheduled on a busy 2-core host), not the
    // schedule, and are allowed.
    let gaps: Vec<Duration> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
    let wide = gaps
        .iter()
        .filter(|g| **g >= Duration::from_millis(20))
        .count();
    let widest = gaps.iter().max().unwrap();
    assert!(
        wide <= 2,
        "{wide} gaps of 20 ms or more, the widest {widest:?}"
    );
    assert!(*widest < Duration::from_millis(250), "a gap of {widest:?}");
}

#[test]
fn closed_loop_pipelines_batches_and_reads_chunked_bodies() {
    let server = Server::start(|_| Answer::Chunked, None);
    let mut c = config(&server.url(), 2, Duration::from_millis(300));
    c.pipeline = 8;
    let report = run(c);
    assert!(report.responses > 0, "{report:#?}");
    assert_eq!(report.errors.total(), 0, "{report:#?}");
    // Whole batches only: 2 connections × 8 requests per write.
    assert_eq!(report.sent % 8, 0);
    assert!(report.bytes >= report.responses * 60);
}

#[test]
fn warmup_load_is_applied_but_not_counted() {
    let server = Server::start(|_| Answer::Ok, None);
    let mut c = config(&server.url(), 2, Duration::from_secs(1));
    c.rate = Some(200.0);
    c.warmup = Duration::from_millis(500);
    let report = run(c);
    // 1 s counted at 200/s; the 100 warm-up requests reached the server too.
    assert_eq!(report.sent, 200, "{report:#?}");
    assert_eq!(report.responses, 200);
    assert_eq!(server.requests().len(), 300);
}
