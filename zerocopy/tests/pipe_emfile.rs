//! Out of fds (EMFILE) when a splice needs a new pipe: a clear error, and
//! transfers work again once fds are available.

mod util;

use shardio_zerocopy::{send_range, send_with_head, FileRange, Strategy};
use std::rc::Rc;
use util::*;

fn set_nofile_soft(limit: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit read and write the live local.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = limit.min(lim.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
}

#[test]
fn emfile_while_leasing_a_pipe_is_survived() {
    run_within(30, || async {
        shardio_zerocopy::configure_pipes(shardio_zerocopy::DEFAULT_PIPE_SIZE, 0);
        let file = Rc::new(pattern_file(1 << 20));
        let (server, client) = pair_with_std().await;
        let reader = std::thread::spawn(move || read_to_end(client));
        let mut old = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the live local.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut old) }, 0);
        // Every fd number below the highest open one may be taken: allow none more.
        let highest = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
            .max()
            .unwrap();
        set_nofile_soft(highest + 1);
        // Fill the holes below the limit.
        let mut fillers = Vec::new();
        while let Ok(f) = std::fs::File::open("/dev/null") {
            fillers.push(f);
        }
        let range = FileRange::shared(&file, 0, 1 << 20);
        let res = send_range(&server, range, Strategy::Splice).await;
        // With a head: the head comes back, and is not sent without its body.
        let range = FileRange::shared(&file, 0, 1 << 20);
        let (res_head, head) =
            send_with_head(&server, b"HEAD".to_vec(), range, Strategy::Splice).await;
        drop(fillers);
        set_nofile_soft(old.rlim_cur);
        let err = res.expect_err("no fd was free for a pipe");
        assert!(err.to_string().contains("pipe"), "{err}");
        assert!(res_head.unwrap_err().to_string().contains("pipe"));
        assert_eq!(head, b"HEAD");

        let range = FileRange::shared(&file, 0, 1 << 20);
        assert_eq!(
            send_range(&server, range, Strategy::Splice).await.unwrap(),
            1 << 20
        );
        drop(server);
        let got = join_thread(reader).await;
        assert_eq!(got.len(), 1 << 20);
        assert_pattern(&got, 0);
    });
}
