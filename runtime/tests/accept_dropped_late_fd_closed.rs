//! Accepts dropped in flight and listeners dropped while connections pour in:
//! every fd a late accept completion carries is closed, none leaks.

mod util;

use shardio::net::{TcpListener, TcpStream};
use shardio::time::timeout;
use std::time::Duration;
use util::{open_fds, settle};

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
        settle().await;
        let stats = shardio::stats();
        assert_eq!(
            stats.ops_in_flight, 0,
            "accept ops left in the table: {stats:?}"
        );
        assert_eq!(stats.connections_open, 0);
    })
    .unwrap();
    assert_eq!(open_fds(), before, "an accepted fd leaked");
}
