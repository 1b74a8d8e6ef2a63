//! The open loop sends at the rate asked, evenly spread over time, and the
//! closed loop with pipelining reads every response of each batch; warm-up
//! load is sent but not counted.

mod util;

use std::sync::Mutex;
use std::time::Duration;
use util::{config, run, Answer, Server};

/// Held by each test for its whole run. The schedule test measures time on
/// a 2-core host, so it must not share it with a closed loop running flat
/// out in the next test thread.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn open_loop_honours_the_schedule() {
    let _serial = one_at_a_time();
    // A host that stalls the whole test for a large part of a second
    // (seen on a busy 2-core host, just after a big build, and on a
    // virtual machine slowed for several seconds in a row, which failed
    // three runs in a row) shifts arrivals in a way no sender can undo, so
    // the spread is asked of one of five runs. A sender that batched, or
    // ignored the rate, fails all five.
    let mut problems = Vec::new();
    for _ in 0..5 {
        let server = Server::start(|_| Answer::Ok, None);
        let mut c = config(&server.url(), 4, Duration::from_secs(2));
        c.rate = Some(500.0);
        let report = run(c);
        // 2 s at 500/s: exactly 1,000 scheduled requests, all sent and
        // answered, in every run.
        assert_eq!(report.sent, 1_000, "{report:#?}");
        assert_eq!(report.responses, 1_000);
        assert_eq!(report.statuses.get(&200), Some(&1_000));
        match spread_problem(&server.arrivals()) {
            None => return,
            Some(problem) => problems.push(problem),
        }
    }
    panic!("not spread evenly in any of five runs: {problems:#?}");
}

/// What is wrong with the spread of 1,000 arrivals over 2 s, if anything.
fn spread_problem(arrivals: &[std::time::Instant]) -> Option<String> {
    // Spread evenly, not in bursts: at the end of every 200 ms slice of
    // the run, the arrivals so far are within 80 of the 100 a slice that
    // the schedule asks for (a sender 160 ms ahead or behind; one that
    // ignored the rate would be hundreds ahead). A host that
    // stalls the test for a while makes one slice short and the next long,
    // as the sender catches up; the running count keeps to the schedule
    // across such a pair, where a count per slice would not.
    let first = arrivals[0];
    let mut slices = [0u32; 10];
    for t in arrivals {
        let slice = ((*t - first).as_millis() / 200) as usize;
        slices[slice.min(9)] += 1;
    }
    let mut so_far = 0i64;
    for (i, n) in slices.iter().enumerate() {
        so_far += i64::from(*n);
        let due = 100 * (i as i64 + 1);
        if (so_far - due).abs() > 80 {
            return Some(format!(
                "{so_far} arrivals by the end of slice {i}, {due} due: {slices:?}"
            ));
        }
    }
    // And no request waited behind another. The typical gap between
    // arrivals is the 2 ms interval, and nine gaps in ten stay within four
    // intervals. A sender that batched would make most gaps zero (a few
    // microseconds) and the rest wide. A test thread descheduled on a busy
    // host leaves wide gaps, each followed by a catch-up burst; on a host
    // busy enough those bursts pull the median below the interval (870 µs
    // was seen), so the median is only held well clear of zero.
    let mut gaps: Vec<Duration> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
    gaps.sort();
    let median = gaps[gaps.len() / 2];
    let p90 = gaps[gaps.len() * 9 / 10];
    if median < Duration::from_micros(250) || median > Duration::from_micros(3_000) {
        return Some(format!("median gap {median:?}, p90 {p90:?}"));
    }
    if p90 > Duration::from_millis(8) {
        return Some(format!("p90 gap {p90:?}"));
    }
    None
}

#[test]
fn closed_loop_pipelines_batches_and_reads_chunked_bodies() {
    let _serial = one_at_a_time();
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
    let _serial = one_at_a_time();
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
