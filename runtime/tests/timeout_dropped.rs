//! Timers dropped before they fire leave nothing registered; a timeout that
//! fires drops (and cancels) the inner future's op.

mod util;

use shardio::time::{sleep, timeout};
use std::time::{Duration, Instant};
use util::settle;

#[test]
fn timeout_dropped() {
    shardio::block_on(async {
        // Many sleeps created, polled once (registered) and dropped.
        for _ in 0..10_000 {
            let r = timeout(Duration::from_millis(0), sleep(Duration::from_secs(3600))).await;
            assert!(r.is_err());
        }
        assert_eq!(
            shardio::stats().timers_pending,
            0,
            "dropped timers stayed registered"
        );

        // A timeout around an op that never completes: the op is cancelled.
        let (client, server) = util::pair().await;
        let start = Instant::now();
        let r = timeout(
            Duration::from_millis(30),
            server.read(Vec::with_capacity(16)),
        )
        .await;
        assert!(r.is_err());
        assert!(
            start.elapsed() >= Duration::from_millis(30),
            "timeout fired early"
        );
        settle().await;
        let s = shardio::stats();
        assert_eq!(s.ops_in_flight, 0, "{s:?}");
        assert_eq!(s.timers_pending, 0, "{s:?}");

        // A timeout whose future wins leaves its timer unregistered too.
        let (w, _) = client.write_all(b"x".to_vec()).await;
        w.unwrap();
        let (n, _) = timeout(Duration::from_secs(5), server.read(Vec::with_capacity(16)))
            .await
            .unwrap();
        assert_eq!(n.unwrap(), 1);
        assert_eq!(shardio::stats().timers_pending, 0);
    })
    .unwrap();
}
