//! Whether a file is out of the page cache, asked when the open-file cache
//! opens or revalidates it: such a file is sent by
//! [`Strategy::Copy`](shardio_zerocopy::Strategy::Copy), whose missing
//! pages are read through the ring, because `sendfile(2)` would wait for
//! the disk on the shard's thread, holding up every other connection.
//!
//! The question costs one `cachestat(2)` per window, at about 30 ns per
//! cached page, once per revalidation (a second by default), never per
//! request. A file up to [`WHOLE`] is asked about whole; a larger one in
//! [`WINDOWS`] evenly spread windows of [`WINDOW`] bytes, so a huge hot
//! file costs no more than an 8 MiB one, and a file mostly out of the
//! cache is still seen. Pages evicted between two revalidations, or a cold
//! stretch between windows, can still make a `sendfile` wait.

use shardio_zerocopy::residency;
use std::fs::File;

/// Files up to this size are asked about whole.
pub(crate) const WHOLE: u64 = 8 << 20;
/// Larger files: this many windows, the first at the start and the last
/// at the end.
pub(crate) const WINDOWS: u64 = 8;
/// Each window's length.
pub(crate) const WINDOW: u64 = 1 << 20;

/// Whether some sampled page of `len` bytes of `file` is not in the page
/// cache. A kernel that cannot tell (older than Linux 6.5) gets `false`:
/// the file is sent as if it were cached.
pub(crate) fn is_cold(file: &File, len: u64) -> bool {
    windows(len).any(|(offset, len)| residency(file, offset, len).is_ok_and(|r| !r.is_complete()))
}

/// The ranges [`is_cold`] asks about.
fn windows(len: u64) -> impl Iterator<Item = (u64, u64)> {
    let (count, window) = if len <= WHOLE {
        (u64::from(len > 0), len)
    } else {
        (WINDOWS, WINDOW)
    };
    let span = u128::from(len - window);
    let gaps = u128::from(count.max(2) - 1);
    // Multiplied before divided, so the last window ends the file exactly.
    (0..count).map(move |i| ((span * u128::from(i) / gaps) as u64, window))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_files_are_asked_about_whole_and_large_ones_in_spread_windows() {
        assert_eq!(windows(0).count(), 0);
        assert_eq!(windows(10).collect::<Vec<_>>(), [(0, 10)]);
        assert_eq!(windows(WHOLE).collect::<Vec<_>>(), [(0, WHOLE)]);
        let len = 100 << 20;
        let w: Vec<_> = windows(len).collect();
        assert_eq!(w.len() as u64, WINDOWS);
        assert_eq!(w[0], (0, WINDOW));
        assert_eq!(w.last().unwrap().0 + WINDOW, len, "the last ends the file");
        assert!(w.windows(2).all(|p| p[0].0 + WINDOW <= p[1].0));
        // Just over the whole-file limit: windows overlap, none past the end.
        let w: Vec<_> = windows(WHOLE + 1).collect();
        assert!(w.iter().all(|&(o, l)| o + l <= WHOLE + 1));
    }
}
