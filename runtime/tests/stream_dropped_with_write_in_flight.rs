//! A stream dropped while a large write is stuck in flight (the peer does not
//! read): the write is cancelled, its buffer freed only after the final
//! completion, and the fd closed after that — nothing leaks.

mod util;

use shardio::time::timeout;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use util::{assert_shard_idle, open_fds, CountedBuf};

#[test]
fn stream_dropped_with_write_in_flight() {
    let before = open_fds();
    let live = Arc::new(AtomicUsize::new(0));
    shardio::block_on(async {
        for _ in 0..5 {
            let (client, server) = util::pair().await;
            // 64 MiB cannot fit in the socket buffers of a peer that never reads.
            let big = CountedBuf::filled(64 << 20, &live);
            let write = timeout(Duration::from_millis(20), client.write_all(big));
            assert!(write.await.is_err(), "the write should still be in flight");
            drop(client);
            drop(server);
        }
        assert_shard_idle().await;
    })
    .unwrap();
    assert_eq!(
        live.load(Ordering::SeqCst),
        0,
        "a buffer of a cancelled write leaked"
    );
    assert_eq!(open_fds(), before, "an fd leaked");
}
