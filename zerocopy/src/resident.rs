//! How much of a file range the page cache holds, asked without reading
//! it: `cachestat(2)` (Linux 6.5+).
//!
//! `sendfile(2)` and the copy's plain reads wait for the disk on the
//! shard's thread when a page is missing; a caller that knows a range is
//! cold can send it with [`Strategy::Copy`](crate::Strategy::Copy)
//! instead, whose missing pages are read through the ring.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};

/// `cachestat(2)`'s number. Every architecture numbers the system calls
/// added since Linux 5.1 alike (alpha aside), and the libc crate does not
/// name this one for x86-64 yet.
const SYS_CACHESTAT: libc::c_long = 451;

/// `struct cachestat_range` of `<linux/mman.h>`.
#[repr(C)]
struct CachestatRange {
    off: u64,
    len: u64,
}

/// `struct cachestat` of `<linux/mman.h>`.
#[repr(C)]
#[derive(Default)]
struct Cachestat {
    nr_cache: u64,
    nr_dirty: u64,
    nr_writeback: u64,
    nr_evicted: u64,
    nr_recently_evicted: u64,
}

/// Set once a `cachestat` call has said this kernel lacks it, so the next
/// calls answer without a system call.
static MISSING: AtomicBool = AtomicBool::new(false);

/// How many of the pages a file range touches are in the page cache
/// ([`residency`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Residency {
    /// Pages of the range the page cache holds.
    pub cached_pages: u64,
    /// Pages the range touches.
    pub pages: u64,
}

impl Residency {
    /// Whether every page of the range is cached, so reading it (or
    /// `sendfile(2)` from it) will not wait for the disk.
    pub fn is_complete(&self) -> bool {
        self.cached_pages >= self.pages
    }
}

/// How much of `len` bytes of `file` from `offset` the page cache holds,
/// by `cachestat(2)`: one system call that reads nothing and never waits
/// for the disk, though its cost grows with the range (about 30 ns a page
/// here, 7 µs for 1 MiB), so callers ask once for many sends.
///
/// Pages past the end of the file count as not cached.
///
/// # Errors
///
/// `ErrorKind::Unsupported`, naming `cachestat(2)`, on a kernel older
/// than Linux 6.5 (or one that filters the call out); otherwise what the
/// call returned (`EBADF`, or `EOPNOTSUPP` for a hugetlbfs file).
///
/// # Examples
///
/// ```
/// use std::io::Write;
///
/// let path = std::env::temp_dir().join(format!("resident-doc-{}", std::process::id()));
/// std::fs::File::create(&path)?.write_all(&[7u8; 8192])?;
/// let file = std::fs::File::open(&path)?;
/// std::fs::remove_file(&path)?;
/// match shardio_zerocopy::residency(&file, 0, 8192) {
///     // Just written: in the page cache.
///     Ok(r) => assert!(r.is_complete() && r.pages == 2),
///     // A kernel older than 6.5 cannot tell.
///     Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::Unsupported),
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn residency(file: &File, offset: u64, len: u64) -> io::Result<Residency> {
    if len == 0 {
        // `cachestat` reads a zero length as "to the end of the file".
        return Ok(Residency {
            cached_pages: 0,
            pages: 0,
        });
    }
    if MISSING.load(Ordering::Relaxed) {
        return Err(missing());
    }
    let page = page_size();
    let end = offset.saturating_add(len);
    let pages = end.div_ceil(page) - offset / page;
    let range = CachestatRange { off: offset, len };
    let mut stat = Cachestat::default();
    // SAFETY: `range` and `stat` are live locals of the layout the kernel
    // reads and writes for the duration of the call; the file is borrowed
    // for it. Flags must be 0.
    let rc = unsafe {
        libc::syscall(
            SYS_CACHESTAT,
            file.as_raw_fd(),
            &range as *const CachestatRange,
            &mut stat as *mut Cachestat,
            0u32,
        )
    };
    if rc < 0 {
        let e = io::Error::last_os_error();
        return Err(match e.raw_os_error() {
            Some(libc::ENOSYS | libc::EPERM) => {
                MISSING.store(true, Ordering::Relaxed);
                missing()
            }
            _ => e,
        });
    }
    Ok(Residency {
        cached_pages: stat.nr_cache.min(pages),
        pages,
    })
}

fn missing() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "this kernel lacks cachestat(2) (Linux 6.5+), so it cannot tell what the page \
         cache holds without reading",
    )
}

fn page_size() -> u64 {
    // SAFETY: sysconf takes no pointers.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as u64
    } else {
        4096
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp(len: usize) -> File {
        let path = std::env::temp_dir().join(format!(
            "resident-{}-{len}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&vec![1u8; len])
            .unwrap();
        let f = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        f
    }

    #[test]
    fn pages_count_every_page_the_range_touches() {
        let f = temp(3 * 4096);
        let page = page_size();
        assert!(page.is_power_of_two() && page >= 4096, "{page}");
        if page != 4096 {
            eprintln!("pages of {page} bytes: the counts below assume 4096");
            return;
        }
        let r = match residency(&f, 4095, 2) {
            Ok(r) => r,
            Err(e) => {
                assert_eq!(e.kind(), io::ErrorKind::Unsupported, "{e}");
                eprintln!("not counted: {e}");
                return;
            }
        };
        assert_eq!(r.pages, 2);
        assert!(r.is_complete(), "{r:?}");
        let r = residency(&f, 0, 3 * 4096).unwrap();
        assert_eq!((r.pages, r.cached_pages), (3, 3));
        // Past the end: the pages do not exist, so they are not cached.
        let r = residency(&f, 0, 5 * 4096).unwrap();
        assert_eq!((r.pages, r.cached_pages), (5, 3));
        assert!(!r.is_complete());
    }

    #[test]
    fn an_empty_range_is_complete_without_a_call() {
        let f = temp(10);
        let r = residency(&f, 5, 0).unwrap();
        assert!(r.is_complete());
        assert_eq!(r.pages, 0);
    }
}
