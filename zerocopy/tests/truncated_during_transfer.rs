//! The file is truncated while a transfer waits on a full socket: the
//! transfer ends with an error that says so, never a hang.

mod util;

use shardio_zerocopy::{send_range, FileRange};
use std::io::Read;
use std::rc::Rc;
use std::time::Duration;
use util::*;

const LEN: u64 = 64 << 20;

#[test]
fn truncation_is_an_error_not_a_hang() {
    for strategy in STRATEGIES {
        run_within(60, move || async move {
            let file = Rc::new(pattern_file(LEN));
            let (server, client) = pair_with_std().await;
            // The reader waits for the go-ahead, so the sender fills the
            // socket buffers and blocks on them first.
            let (go, wait) = std::sync::mpsc::channel::<()>();
            let reader = std::thread::spawn(move || {
                wait.recv().unwrap();
                let mut client = client;
                let mut got = Vec::new();
                client.read_to_end(&mut got).unwrap();
                got
            });
            let truncate = {
                let file = file.clone();
                async move {
                    shardio::time::sleep(Duration::from_millis(100)).await;
                    file.set_len(1 << 20).unwrap();
                    go.send(()).unwrap();
                }
            };
            let truncate = shardio::spawn(truncate);
            let res = send_range(&server, FileRange::shared(&file, 0, LEN), strategy).await;
            truncate.await.unwrap();
            let err = res.expect_err("a truncated file cannot fill the range");
            assert_eq!(
                err.kind(),
                std::io::ErrorKind::UnexpectedEof,
                "{strategy:?}: {err}"
            );
            assert!(err.to_string().contains("truncated"), "{err}");
            drop(server);
            let got = join_thread(reader).await;
            assert!(got.len() < LEN as usize);
            // What did arrive is the file's bytes, in order, from the start.
            assert_pattern(&got[..got.len().min(1 << 20)], 0);
        });
    }
}
