//! The transfer's future is dropped while it waits on a full socket: the
//! ops are cancelled, and pipes and file duplicates are released only
//! after their last completion — no leak, and the pool keeps working.

mod util;

use shardio_zerocopy::{send_file, send_range, FileRange};
use std::time::Duration;
use util::*;

const LEN: u64 = 64 << 20;

#[test]
fn dropped_transfer_releases_everything() {
    let _serial = serial();
    for strategy in STRATEGIES {
        run_within(60, move || async move {
            let file = pattern_file(LEN);
            // Steady state first: one small transfer warms the pipe pool.
            let (server, client) = pair_with_std().await;
            let reader = std::thread::spawn(move || read_to_end(client));
            send_range(&server, FileRange::new(&file, 0, 10), strategy)
                .await
                .unwrap();
            drop(server);
            join_thread(reader).await;
            settle().await;
            let before = fds_besides_pool();

            // Nobody reads: the transfer fills the socket and waits.
            let (server, client) = pair_with_std().await;
            let transfer = send_range(&server, FileRange::new(&file, 0, LEN), strategy);
            let cut = shardio::time::timeout(Duration::from_millis(200), transfer).await;
            assert!(
                cut.is_err(),
                "{strategy:?}: 64 MiB went into an unread socket"
            );
            drop(server);
            drop(client);
            settle().await;
            assert_eq!(fds_besides_pool(), before, "{strategy:?} leaked an fd");

            let (server, client) = pair_with_std().await;
            let reader = std::thread::spawn(move || read_to_end(client));
            assert_eq!(
                send_file(&server, &file, 99, 1 << 20).await.unwrap(),
                1 << 20
            );
            drop(server);
            let got = join_thread(reader).await;
            assert_pattern(&got, 99);
            assert_eq!(got.len(), 1 << 20);
        });
    }
}

#[test]
fn file_may_close_while_a_dropped_splice_is_in_flight() {
    let _serial = serial();
    run_within(30, || async {
        let (server, client) = pair_with_std().await;
        {
            let file = pattern_file(LEN);
            let range = FileRange::new(&file, 0, LEN);
            let transfer = send_range(&server, range, shardio_zerocopy::Strategy::Splice);
            let cut = shardio::time::timeout(Duration::from_millis(100), transfer).await;
            assert!(cut.is_err());
            // `file` closes here; the cancelled splice held its own duplicate.
        }
        drop(client);
        settle().await;
        drop(server);
    });
}
