//! A read future dropped before data arrives: the op is cancelled, the buffer
//! freed only after the cancellation completes, and the connection still works.

mod util;

use shardio::time::timeout;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use util::{pair, settle, CountedBuf};

#[test]
fn read_dropped_before_data_arrives() {
    let live = Arc::new(AtomicUsize::new(0));
    shardio::block_on(async {
        let (client, server) = pair().await;
        settle().await;
        let base = shardio::stats();

        for _ in 0..100 {
            let buf = CountedBuf::new(4096, &live);
            let r = timeout(Duration::from_millis(1), server.read(buf)).await;
            assert!(r.is_err(), "no data was sent, the read must time out");
        }
        settle().await;
        let after = shardio::stats();
        assert_eq!(
            after.ops_in_flight, base.ops_in_flight,
            "cancelled reads left op slots"
        );
        assert_eq!(
            live.load(Ordering::SeqCst),
            0,
            "a cancelled read leaked its buffer"
        );
        assert!(after.ops_cancelled >= base.ops_cancelled + 100);

        // Now data arrives: the connection is still usable.
        let (r, _) = client.write_all(b"after-cancel".to_vec()).await;
        r.unwrap();
        let (n, buf) = server.read(Vec::with_capacity(64)).await;
        assert_eq!(&buf[..n.unwrap()], b"after-cancel");
    })
    .unwrap();
    assert_eq!(live.load(Ordering::SeqCst), 0);
}
