//! The read-and-write strategy on a file the page cache has dropped: the
//! bytes the cache lacks are read through the ring, and arrive whole.

mod util;

use shardio_zerocopy::{read_exact_at, residency, send_range, stats, FileRange, Strategy};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use util::*;

const LEN: u64 = 4 << 20;

/// Times a cold read is tried, evicting the file anew each time. The probe
/// below and each read that must not wait start the kernel's readahead,
/// and a disk fast enough (a virtual one, just after a big build) can
/// finish it before the next such read: the page cache then serves the
/// whole file and no read goes through the ring. That race is the disk's;
/// a reader that never used the ring would lose all three.
const COLD_TRIES: usize = 3;

/// After one try at a cold read: whether to stop trying. Stops once the
/// read went through the ring, or when the filesystem would not evict
/// (said on stderr); fails when the last try read an evicted file
/// without the ring.
fn cold_read_done(evicted: bool, ring_reads: u64, tries_left: usize) -> bool {
    if !evicted {
        eprintln!("this filesystem keeps the file cached: {ring_reads} ring reads");
        return true;
    }
    if ring_reads > 0 {
        return true;
    }
    assert!(
        tries_left > 0,
        "the evicted file was read without the ring, {COLD_TRIES} times"
    );
    false
}

/// Writes the file out and asks the kernel to drop its cached pages.
/// Whether the first page went: a read that must not wait fails with
/// `EAGAIN` on a page that is gone (a filesystem kept in memory, tmpfs,
/// keeps them all).
fn evict(file: &File) -> bool {
    file.sync_all().unwrap();
    // SAFETY: a plain call on an open fd; no memory is passed.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(rc, 0, "posix_fadvise");
    let mut byte = [0u8; 1];
    let iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: the iovec names `byte`, alive for the call.
    let n = unsafe { libc::preadv2(file.as_raw_fd(), &iov, 1, 0, libc::RWF_NOWAIT) };
    n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN)
}

#[test]
fn a_file_out_of_the_page_cache_is_read_through_the_ring_and_arrives_whole() {
    // A shared file is held by the ring's reads as it is; a borrowed one
    // through a duplicate, made at the first read the cache cannot serve.
    for shared in [true, false] {
        run_within(30, move || async move {
            let file = Rc::new(pattern_file(LEN));
            for tries_left in (0..COLD_TRIES).rev() {
                let first_page_gone = evict(&file);
                let evicted = match residency(&file, 0, LEN) {
                    Ok(r) => {
                        assert!(r.pages > 0 && r.cached_pages <= r.pages, "{r:?}");
                        // A first page the probe found gone is missing from
                        // the residency too. Not the other way round: the
                        // kernel may keep a few pages, the first among them.
                        if first_page_gone {
                            assert!(!r.is_complete(), "{r:?}");
                        }
                        !r.is_complete()
                    }
                    Err(_) => first_page_gone,
                };
                let before = stats().ring_reads;
                let (server, client) = pair_with_std().await;
                let reader = std::thread::spawn(move || read_to_end(client));
                let range = match shared {
                    true => FileRange::shared(&file, 0, LEN),
                    false => FileRange::new(&file, 0, LEN),
                };
                assert_eq!(
                    send_range(&server, range, Strategy::Copy).await.unwrap(),
                    LEN
                );
                drop(server);
                let got = join_thread(reader).await;
                assert_eq!(got.len() as u64, LEN, "shared: {shared}");
                assert_pattern(&got, 0);
                if cold_read_done(evicted, stats().ring_reads - before, tries_left) {
                    break;
                }
            }
        });
    }
}

#[test]
fn a_cached_file_is_read_without_the_ring() {
    run_within(30, || async {
        let file = Rc::new(pattern_file(1 << 20));
        // Read once, so that every page is cached.
        let mut warm = vec![0u8; 1 << 20];
        std::os::unix::fs::FileExt::read_exact_at(&*file, &mut warm, 0).unwrap();
        if let Ok(r) = residency(&file, 0, 1 << 20) {
            assert!(r.is_complete(), "{r:?}");
        }
        let before = stats().ring_reads;
        let (server, client) = pair_with_std().await;
        let reader = std::thread::spawn(move || read_to_end(client));
        let range = FileRange::shared(&file, 0, 1 << 20);
        assert_eq!(
            send_range(&server, range, Strategy::Copy).await.unwrap(),
            1 << 20
        );
        drop(server);
        assert_pattern(&join_thread(reader).await, 0);
        assert_eq!(stats().ring_reads - before, 0);
    });
}

#[test]
fn read_exact_at_takes_the_cached_part_at_once_and_the_rest_through_the_ring() {
    run_within(30, || async {
        let file = Rc::new(pattern_file(LEN));
        for tries_left in (0..COLD_TRIES).rev() {
            let evicted = evict(&file);
            let before = stats().ring_reads;
            let got = read_exact_at(&file, 1000, (LEN - 2000) as usize)
                .await
                .unwrap();
            assert_pattern(&got, 1000);
            if cold_read_done(evicted, stats().ring_reads - before, tries_left) {
                break;
            }
        }
        // Now cached: no ring read at all.
        let before = stats().ring_reads;
        assert_pattern(&read_exact_at(&file, 0, LEN as usize).await.unwrap(), 0);
        assert_eq!(stats().ring_reads - before, 0);
        let past = read_exact_at(&file, LEN - 10, 11).await.unwrap_err();
        assert_eq!(past.kind(), std::io::ErrorKind::UnexpectedEof);
        let overflow = read_exact_at(&file, u64::MAX, 1).await.unwrap_err();
        assert_eq!(overflow.kind(), std::io::ErrorKind::InvalidInput);
    });
}
