//! Equality of the short byte strings compared on every request (a path
//! against the static routes, a `Host` against the last valid one).
//!
//! `==` on slices calls `memcmp`, and at these lengths the call costs
//! more than the comparison: in a `perf` profile of pipelined `GET /`,
//! `memcmp` took 2 % of the server core for two comparisons of 1 and 14
//! bytes a request. Here both ends of the strings are loaded as one to
//! sixteen bytes each, and compared in registers.

/// Whether `a == b`. Inline for up to 32 bytes; longer slices use `==`.
// Always inlined, and `ends` in it: left to the compiler, `ends` stayed a
// call of 15 instructions for each comparison (callgrind, pipelined).
#[inline(always)]
pub(crate) fn eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    // Two loads of `W` bytes, one at each end, overlap to cover every
    // length from `W` to `2 * W`.
    #[inline(always)]
    fn ends<const W: usize>(a: &[u8], b: &[u8]) -> bool {
        let at = a.len() - W;
        load::<W>(a, 0) == load::<W>(b, 0) && load::<W>(a, at) == load::<W>(b, at)
    }
    match n {
        0 => true,
        // The first, middle and last bytes are every byte of these.
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => ends::<4>(a, b),
        8..=15 => ends::<8>(a, b),
        16..=32 => ends::<16>(a, b),
        _ => a == b,
    }
}

#[inline(always)]
fn load<const W: usize>(s: &[u8], at: usize) -> [u8; W] {
    let mut word = [0; W];
    word.copy_from_slice(&s[at..at + W]);
    word
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length to 40, equal and with each single byte changed.
    #[test]
    fn agrees_with_slice_equality() {
        for n in 0..=40 {
            let a: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37)).collect();
            assert!(eq(&a, &a.clone()), "{n}");
            for i in 0..n {
                let mut b = a.clone();
                b[i] ^= 0x20;
                assert!(!eq(&a, &b), "{n}, byte {i}");
            }
            let shorter = &a[..n.saturating_sub(1)];
            assert_eq!(eq(&a, shorter), n == 0, "{n} against {}", shorter.len());
        }
    }
}
