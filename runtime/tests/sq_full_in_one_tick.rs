//! More ops pushed in one tick than the submission queue holds: the push
//! submits to make room and every op completes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[test]
fn sq_full_in_one_tick() {
    let completed = Arc::new(AtomicU64::new(0));
    let submits = Arc::new(AtomicU64::new(0));
    let (c, s) = (completed.clone(), submits.clone());
    shardio::Runtime::builder()
        .shards(1)
        .pin_to_cores(false)
        .ring_entries(8)
        .on_shard_stop(move |_, stats| {
            c.store(stats.ops_completed, Ordering::SeqCst);
            s.store(stats.submit_calls, Ordering::SeqCst);
            assert_eq!(stats.ops_in_flight, 0);
        })
        .build()
        .unwrap()
        .run(|_| async {
            // Create 1,000 op futures and poll them all in one go.
            let tasks: Vec<_> = (0..1000).map(|_| shardio::spawn(shardio::nop())).collect();
            for t in tasks {
                t.await.unwrap().unwrap();
            }
            Ok(())
        })
        .unwrap();
    assert!(completed.load(Ordering::SeqCst) >= 1000);
    // 1,000 pushes into an 8-entry queue need many submits.
    assert!(
        submits.load(Ordering::SeqCst) >= 1000 / 8,
        "{}",
        submits.load(Ordering::SeqCst)
    );
}
