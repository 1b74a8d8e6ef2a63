//! Empty ranges, ranges past the end of the file, and ranges whose end
//! overflows: clear answers, no hang.

mod util;

use shardio_zerocopy::{send_range, send_with_head, FileRange};
use std::rc::Rc;
use util::*;

const LEN: u64 = 100_000;

#[test]
fn zero_length_range_sends_nothing() {
    for strategy in STRATEGIES {
        run_within(10, move || async move {
            let file = pattern_file(LEN);
            let (server, client) = pair_with_std().await;
            let reader = std::thread::spawn(move || read_to_end(client));
            for offset in [0, 500, LEN, LEN + 10] {
                let range = FileRange::new(&file, offset, 0);
                assert_eq!(send_range(&server, range, strategy).await.unwrap(), 0);
            }
            // With a head, exactly the head goes.
            let range = FileRange::new(&file, 7, 0);
            let (res, head) = send_with_head(&server, b"HEAD".to_vec(), range, strategy).await;
            assert_eq!(res.unwrap(), 0);
            assert_eq!(head, b"HEAD");
            drop(server);
            assert_eq!(join_thread(reader).await, b"HEAD", "{strategy:?}");
        });
    }
}

#[test]
fn range_starting_past_the_end_is_an_error() {
    for strategy in STRATEGIES {
        run_within(10, move || async move {
            let file = Rc::new(pattern_file(LEN));
            let (server, client) = pair_with_std().await;
            let reader = std::thread::spawn(move || read_to_end(client));
            let range = FileRange::shared(&file, LEN + 1, 10);
            let err = send_range(&server, range, strategy).await.unwrap_err();
            assert_eq!(
                err.kind(),
                std::io::ErrorKind::UnexpectedEof,
                "{strategy:?}"
            );
            drop(server);
            assert!(join_thread(reader).await.is_empty());
        });
    }
}

#[test]
fn range_running_past_the_end_sends_what_exists_then_fails() {
    for strategy in STRATEGIES {
        run_within(10, move || async move {
            let file = Rc::new(pattern_file(LEN));
            let (server, client) = pair_with_std().await;
            let reader = std::thread::spawn(move || read_to_end(client));
            let range = FileRange::shared(&file, LEN - 1000, 5000);
            let err = send_range(&server, range, strategy).await.unwrap_err();
            assert_eq!(
                err.kind(),
                std::io::ErrorKind::UnexpectedEof,
                "{strategy:?}"
            );
            assert!(err.to_string().contains(&format!("at byte {LEN}")), "{err}");
            drop(server);
            let got = join_thread(reader).await;
            assert!(got.len() <= 1000);
            assert_pattern(&got, LEN - 1000);
        });
    }
}

#[test]
fn range_end_overflowing_is_invalid_input() {
    run_within(10, || async {
        let file = pattern_file(10);
        let (server, _client) = pair_with_std().await;
        for strategy in STRATEGIES {
            let range = FileRange::new(&file, u64::MAX - 5, 10);
            let err = send_range(&server, range, strategy).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        }
    });
}
