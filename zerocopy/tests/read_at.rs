//! `read_at`: file bytes into memory through the ring, at any offset, and
//! a read dropped while the kernel still owns it frees nothing early.

mod util;

use shardio_zerocopy::read_at;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd};
use std::rc::Rc;
use std::time::Duration;
use util::*;

const LEN: u64 = 3 << 20;

#[test]
fn reads_ranges_and_reports_the_end() {
    let _serial = serial();
    run_within(30, || async {
        let file = Rc::new(pattern_file(LEN));
        for (offset, want) in [
            (0, 1),
            (0, 4096),
            (1, 65_536),
            (LEN - 10, 10),
            (12_345, 1 << 20),
        ] {
            let (n, buf) = read_at(&file, offset, Vec::with_capacity(want)).await;
            assert_eq!(n.unwrap(), want, "at {offset}");
            assert_pattern(&buf, offset);
        }
        // Near the end: what is left; at and past it: nothing.
        let (n, buf) = read_at(&file, LEN - 3, Vec::with_capacity(100)).await;
        assert_eq!((n.unwrap(), buf.len()), (3, 3));
        assert_pattern(&buf, LEN - 3);
        for offset in [LEN, LEN + 1, 1 << 40] {
            let (n, buf) = read_at(&file, offset, Vec::with_capacity(100)).await;
            assert_eq!(n.unwrap(), 0, "at {offset}");
            assert!(buf.is_empty());
        }
    });
}

#[test]
fn a_read_that_fails_names_its_error_and_gives_the_buffer_back() {
    let _serial = serial();
    run_within(30, || async {
        // A directory cannot be read: EISDIR.
        let dir = Rc::new(File::open(std::env::temp_dir()).unwrap());
        let (n, buf) = read_at(&dir, 0, Vec::with_capacity(10)).await;
        assert_eq!(n.unwrap_err().raw_os_error(), Some(libc::EISDIR));
        assert_eq!(buf.capacity(), 10);
        // Opened for writing only: EBADF.
        let path = std::env::temp_dir().join(format!("read-at-wo-{}", std::process::id()));
        let wo = Rc::new(File::create(&path).unwrap());
        std::fs::remove_file(&path).unwrap();
        let (n, _) = read_at(&wo, 0, Vec::with_capacity(10)).await;
        assert_eq!(n.unwrap_err().raw_os_error(), Some(libc::EBADF));
    });
}

#[test]
fn a_dropped_read_keeps_the_file_open_until_the_kernel_lets_go() {
    let _serial = serial();
    run_within(30, || async {
        // A pipe with no writer data: the read waits in the kernel.
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both descriptors were just created and are owned here.
        let (reader, writer) = unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) };
        let before = open_fds();
        let reader = Rc::new(reader);
        let raw = reader.as_raw_fd();
        let read = read_at(&reader, 0, Vec::with_capacity(4096));
        let cut = shardio::time::timeout(Duration::from_millis(50), read).await;
        assert!(cut.is_err(), "a read of an empty pipe finished");
        // The last share the caller had goes; the cancelled op holds its own
        // until its completion comes, and then the fd closes.
        drop(reader);
        // SAFETY: F_GETFD only asks whether the number is an open fd.
        let is_open = || unsafe { libc::fcntl(raw, libc::F_GETFD) } != -1;
        assert!(
            is_open(),
            "the fd closed under a read the kernel still owns"
        );
        settle().await;
        assert!(!is_open(), "the read end stayed open after the cancel");
        assert_eq!(open_fds(), before - 1);
        drop(writer);
    });
}
