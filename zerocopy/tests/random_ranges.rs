//! 1,000 transfers of random ranges of one file, interleaved on one shard
//! across connections and strategies, each checked byte for byte.

mod util;

use shardio_zerocopy::{send_range, send_with_head, FileRange};
use std::cell::Cell;
use std::rc::Rc;
use util::*;

const FILE_LEN: u64 = 8 << 20;
const CONNECTIONS: usize = 20;
const PER_CONNECTION: usize = 50;

/// xorshift64*: a reproducible stream of ranges without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A range of the file: mostly small, some large, some empty, some
    /// ending exactly at the end of the file.
    fn range(&mut self) -> (u64, u64) {
        let len = match self.next() % 10 {
            0 => 0,
            1..=5 => self.next() % (16 << 10),
            6..=8 => self.next() % (256 << 10),
            _ => self.next() % (2 << 20),
        };
        let offset = if self.next() % 8 == 0 {
            FILE_LEN - len
        } else {
            self.next() % (FILE_LEN - len + 1)
        };
        (offset, len)
    }
}

#[test]
fn thousand_random_ranges_are_byte_exact() {
    run_within(120, || async {
        let file = Rc::new(pattern_file(FILE_LEN));
        let done = Rc::new(Cell::new(0usize));
        let mut tasks = Vec::new();
        for conn in 0..CONNECTIONS {
            let file = file.clone();
            let done = done.clone();
            tasks.push(shardio::spawn(async move {
                let (client, server) = pair().await;
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (conn as u64 + 1));
                for i in 0..PER_CONNECTION {
                    let (offset, len) = rng.range();
                    let strategy = STRATEGIES[(conn + i) % STRATEGIES.len()];
                    let with_head = rng.next() % 2 == 0;
                    let head = format!("head {conn}/{i} {offset}+{len}\r\n").into_bytes();
                    let head_len = if with_head { head.len() } else { 0 };
                    let reader = read_exact(&client, head_len + len as usize);
                    let range = FileRange::shared(&file, offset, len);
                    let sender = async {
                        if with_head {
                            let (res, back) =
                                send_with_head(&server, head.clone(), range, strategy).await;
                            assert_eq!(back, head, "the head comes back");
                            res
                        } else {
                            send_range(&server, range, strategy).await
                        }
                    };
                    let (sent, got) = join(sender, reader).await;
                    assert_eq!(sent.unwrap(), len, "{strategy:?} {offset}+{len}");
                    assert_eq!(&got[..head_len], &head[..head_len]);
                    assert_pattern(&got[head_len..], offset);
                    done.set(done.get() + 1);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(done.get(), CONNECTIONS * PER_CONNECTION);
        let stats = shardio_zerocopy::stats();
        assert!(stats.spliced_bytes > 0 && stats.sendfile_bytes > 0 && stats.copied_bytes > 0);
        assert!(
            stats.pipes_created <= CONNECTIONS as u64,
            "pipes were not reused: {stats:?}"
        );
    });
}

/// Polls two futures to completion on the current task.
async fn join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let std::task::Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let std::task::Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    (ra.unwrap(), rb.unwrap())
}
