//! A client reads part of a 64 MiB body and resets the connection: the
//! sender gets an error, every pipe and fd is released, and the pipe pool
//! still works.

mod util;

use shardio_zerocopy::{send_range, FileRange, Strategy};
use std::io::Read;
use std::rc::Rc;
use util::*;

const LEN: u64 = 64 << 20;

fn reset_after_one_mib(mut client: std::net::TcpStream) {
    let mut buf = vec![0u8; 64 << 10];
    let mut got = 0;
    while got < 1 << 20 {
        let n = client.read(&mut buf).unwrap();
        assert!(n > 0);
        assert_pattern(&buf[..n], got as u64);
        got += n;
    }
    socket_linger_zero(&client);
    drop(client); // RST: the receive queue is not empty and linger is 0
}

fn socket_linger_zero(s: &std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt reads the live local; the fd is the stream's.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
}

#[test]
fn reset_mid_body_leaks_nothing() {
    let _serial = serial();
    for strategy in STRATEGIES {
        run_within(60, move || async move {
            let file = Rc::new(pattern_file(LEN));
            // Warm up the pool and the page cache so the count below is
            // the steady state.
            let (server, client) = pair_with_std().await;
            let reader = std::thread::spawn(move || read_to_end(client));
            let range = FileRange::shared(&file, 0, 4096);
            send_range(&server, range, strategy).await.unwrap();
            drop(server);
            assert_eq!(join_thread(reader).await.len(), 4096);
            settle().await;
            let before = fds_besides_pool();

            let (server, client) = pair_with_std().await;
            let reader = std::thread::spawn(move || reset_after_one_mib(client));
            let res = send_range(&server, FileRange::shared(&file, 0, LEN), strategy).await;
            join_thread(reader).await;
            let err = res.expect_err("a reset connection cannot take 64 MiB");
            assert!(
                matches!(
                    err.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ),
                "{strategy:?}: unexpected error {err}"
            );
            drop(server);
            settle().await;
            assert_eq!(
                fds_besides_pool(),
                before,
                "{strategy:?} leaked an fd or a pipe"
            );

            // The pool still serves a byte-exact transfer.
            let (server, client) = pair_with_std().await;
            let reader = std::thread::spawn(move || read_to_end(client));
            let range = FileRange::shared(&file, 12_345, 3 << 20);
            assert_eq!(send_range(&server, range, strategy).await.unwrap(), 3 << 20);
            drop(server);
            let got = join_thread(reader).await;
            assert_eq!(got.len(), 3 << 20);
            assert_pattern(&got, 12_345);
            settle().await;
            assert_eq!(
                fds_besides_pool(),
                before,
                "{strategy:?}: fds after a clean transfer"
            );
        });
    }
}

#[test]
fn splice_discards_a_pipe_left_holding_bytes() {
    let _serial = serial();
    run_within(60, || async {
        let file = Rc::new(pattern_file(LEN));
        let (server, client) = pair_with_std().await;
        let reader = std::thread::spawn(move || reset_after_one_mib(client));
        let before = shardio_zerocopy::stats();
        let range = FileRange::shared(&file, 0, LEN);
        send_range(&server, range, Strategy::Splice)
            .await
            .unwrap_err();
        join_thread(reader).await;
        let after = shardio_zerocopy::stats();
        assert_eq!(after.pipes_discarded, before.pipes_discarded + 1);
        assert!(after.spliced_bytes - before.spliced_bytes >= 1 << 20);
    });
}
