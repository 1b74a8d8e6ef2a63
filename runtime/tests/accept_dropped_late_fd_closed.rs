//! Accepts dropped in flight and listeners dropped while connections pour in:
//! every fd a late accept completion carries is closed, none leaks.

mod util;

use shardio::net::{TcpListener, TcpStream};
use shardio::time::timeout;
use std::time::Duration;
use util::{assert_shard_idle, open_fds};

#[test]
fn accept_dropped_late_fd_closed() {
    let before = open_fds();
    shardio::block_on(async {
        for round in 0..50 {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            // An accept that is dropped before anyone connects.
            assert!(timeout(Duration::from_millis(1), listener.accept())
                .await
                .is_err());
            // Connections arrive after the accept future is gone...
            let mut clients = Vec::new();
            for _ in 0..(round % 5 + 1) {
                clients.push(TcpStream::connect(addr).await.unwrap());
            }
            if round % 2 == 0 {
                // ...and are either taken by a later accept...
                let (s, _) = listener.accept().await.unwrap();
                drop(s);
            }
            // ...or left for the listener's drop (and the late completions
            // of its cancelled multishot accept) to close.
            shardio::yield_now().await;
            drop(listener);
            drop(clients);
        }
        assert_shard_idle().await;
    })
    .unwrap();
    assert_eq!(open_fds(), before, "an accepted fd leaked");
}
