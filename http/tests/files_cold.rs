//! Static files out of the page cache: the open-file cache sees it when it
//! opens the file, and the body is read through the ring
//! (`Strategy::Copy`) rather than by a `sendfile` that would wait for the
//! disk on the shard's thread; once cached, the file goes by `sendfile`
//! again.

mod util;

use shardio_http::{Request, Router, StaticFiles};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::time::Duration;
use util::{pattern, Site, TestServer};

/// A body `Auto` sends by `sendfile`: under `SPLICE_MIN`.
const LEN: usize = 128 << 10;

/// Drops the file's pages from the page cache; whether they all went (a
/// filesystem kept in memory, tmpfs, keeps them, and a page still in use,
/// by a socket buffer of an earlier `sendfile` say, stays).
fn evict(path: &std::path::Path) -> bool {
    let file = File::open(path).unwrap();
    file.sync_all().unwrap();
    // SAFETY: a plain call on an open fd; no memory is passed.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(rc, 0, "posix_fadvise");
    match shardio_zerocopy::residency(&file, 0, LEN as u64) {
        Ok(r) => r.cached_pages == 0,
        Err(e) => {
            eprintln!("cannot tell what is cached: {e}");
            false
        }
    }
}

/// Times a cold read is tried, evicting the file anew each time. The read
/// without waiting that comes first starts the kernel's readahead, and a
/// disk fast enough (a virtual one backed by the host's page cache, just
/// after a big build) can finish it before that read returns, which then
/// finds the bytes cached and needs no ring read. That race is the disk's;
/// a server that never read through the ring would lose all three.
const COLD_TRIES: usize = 3;

/// After one try at reading the evicted file: whether its bytes came by
/// the ring's reads (then stop trying). Fails when the last try did not.
fn read_by_ring(
    ring_reads_before: u64,
    ring_reads_after: u64,
    tries_left: usize,
    what: &str,
) -> bool {
    if ring_reads_after > ring_reads_before {
        return true;
    }
    assert!(
        tries_left > 0,
        "no ring read for {what} in {COLD_TRIES} tries"
    );
    false
}

/// The server shard's zero-copy counters: copied bytes, ring reads,
/// sendfile bytes.
fn counters(server: &TestServer) -> [u64; 3] {
    let text = server.connect().get("/stats").text();
    let n: Vec<u64> = text.split(' ').map(|n| n.parse().unwrap()).collect();
    [n[0], n[1], n[2]]
}

#[test]
fn a_cold_file_is_read_through_the_ring_then_sent_by_sendfile_once_cached() {
    let site = Site::new("cold");
    let data = pattern(LEN);
    let path = site.write("cold.bin", &data);
    let root = site.root.clone();
    // Revalidated at every request, so the second sees the cached file.
    let server = TestServer::start(move || {
        let files = StaticFiles::new(root)
            .unwrap()
            .cache_validity(Duration::ZERO);
        Router::new()
            .get("/stats", |_r: Request| async {
                let s = shardio_zerocopy::stats();
                format!("{} {} {}", s.copied_bytes, s.ring_reads, s.sendfile_bytes)
            })
            .not_found(files)
    });
    let mut c = server.connect();

    let mut after = counters(&server);
    for tries_left in (0..COLD_TRIES).rev() {
        let evicted = evict(&path);
        let before = counters(&server);
        let r = c.get("/cold.bin");
        assert_eq!(r.status, 200);
        assert!(r.body == data, "the cold file's body differs");
        after = counters(&server);
        if !evicted {
            eprintln!("the file stayed cached (tmpfs?): its first send is not checked");
            break;
        }
        assert_eq!(
            after[0] - before[0],
            LEN as u64,
            "copied: {before:?} {after:?}"
        );
        assert_eq!(
            after[2], before[2],
            "sendfile was used: {before:?} {after:?}"
        );
        if read_by_ring(before[1], after[1], tries_left, "the file") {
            break;
        }
    }

    // Read once, so now cached: the next request goes by sendfile.
    let r = c.get("/cold.bin");
    assert!(r.body == data, "the cached file's body differs");
    let last = counters(&server);
    assert_eq!(last[2] - after[2], LEN as u64, "{after:?} {last:?}");
    assert_eq!((last[0], last[1]), (after[0], after[1]), "copied again");

    // A range of a file evicted again is read through the ring too.
    let mut last = last;
    for tries_left in (0..COLD_TRIES).rev() {
        if !evict(&path) {
            break;
        }
        let r = c.request("GET", "/cold.bin", &["Range: bytes=1000-70999"]);
        assert_eq!(r.status, 206);
        assert!(r.body == data[1000..71000]);
        let ranged = counters(&server);
        assert_eq!(ranged[0] - last[0], 70_000);
        assert_eq!(ranged[2], last[2]);
        if read_by_ring(last[1], ranged[1], tries_left, "the range") {
            break;
        }
        last = ranged;
    }
}
