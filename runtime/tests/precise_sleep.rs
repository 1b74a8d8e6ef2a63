//! `precise_sleep_until`: never early, ordered, and a precise sleep dropped
//! mid-flight is cancelled and leaves no op behind.

mod util;

use shardio::time::{precise_sleep_until, timeout};
use std::time::{Duration, Instant};
use util::settle;

#[test]
fn precise_sleep_is_never_early() {
    shardio::block_on(async {
        let start = Instant::now();
        for i in 1..=50u64 {
            let deadline = start + Duration::from_micros(200 * i);
            precise_sleep_until(deadline).await.unwrap();
            assert!(Instant::now() >= deadline, "woke early at step {i}");
        }
        // A deadline in the past returns at once, without an op.
        let before = shardio::stats().ops_submitted;
        precise_sleep_until(start).await.unwrap();
        assert_eq!(shardio::stats().ops_submitted, before);
    })
    .unwrap();
}

#[test]
fn precise_sleep_dropped_mid_flight_is_cancelled() {
    shardio::block_on(async {
        for _ in 0..100 {
            let far = Instant::now() + Duration::from_secs(3600);
            let r = timeout(Duration::from_millis(1), precise_sleep_until(far)).await;
            assert!(r.is_err());
        }
        settle().await;
        let s = shardio::stats();
        assert_eq!(s.ops_in_flight, 0, "{s:?}");
        assert!(s.ops_cancelled >= 100, "{s:?}");
    })
    .unwrap();
}
