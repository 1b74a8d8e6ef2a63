//! `Range: bytes=...` (RFC 9110 §14.2) and `multipart/byteranges` bodies.

use crate::response::{FilePart, FileParts};
use bytes::Bytes;
use std::fs::File;
use std::rc::Rc;

/// More ranges than this in one request are answered with the whole file.
pub(crate) const MAX_RANGES: usize = 16;

/// A byte range: first byte and length (never 0).
pub(crate) type Span = (u64, u64);

/// What a `Range` header asks of a representation of `len` bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ranges {
    /// Malformed, another unit, or an abusive set: send the whole
    /// representation (`200`).
    Whole,
    /// No range overlaps the representation: `416`.
    Unsatisfiable,
    /// One range: `206` with `Content-Range`.
    One(Span),
    /// Several: `206` with `multipart/byteranges`, in the order asked.
    Many(Vec<Span>),
}

/// Reads a `Range` value against a representation of `len` bytes.
pub(crate) fn parse(value: &str, len: u64) -> Ranges {
    let value = value.trim();
    let Some(unit_end) = value.find('=') else {
        return Ranges::Whole;
    };
    if !value[..unit_end].trim().eq_ignore_ascii_case("bytes") {
        return Ranges::Whole;
    }
    let mut specs = 0;
    let mut spans = Vec::new();
    for spec in value[unit_end + 1..].split(',') {
        let spec = spec.trim();
        if spec.is_empty() {
            continue;
        }
        specs += 1;
        if specs > MAX_RANGES {
            return Ranges::Whole;
        }
        let Some((first, last)) = spec.split_once('-') else {
            return Ranges::Whole;
        };
        let (first, last) = (first.trim(), last.trim());
        let span = if first.is_empty() {
            // A suffix: the last `n` bytes.
            let Some(n) = number(last) else {
                return Ranges::Whole;
            };
            (n > 0 && len > 0).then(|| (len - n.min(len), n.min(len)))
        } else {
            let Some(start) = number(first) else {
                return Ranges::Whole;
            };
            let end = if last.is_empty() {
                u64::MAX
            } else {
                match number(last) {
                    Some(end) if end >= start => end,
                    _ => return Ranges::Whole,
                }
            };
            (start < len).then(|| (start, end.min(len - 1) - start + 1))
        };
        spans.extend(span);
    }
    match spans.len() {
        0 if specs == 0 => Ranges::Whole,
        0 => Ranges::Unsatisfiable,
        1 => Ranges::One(spans[0]),
        _ if overlapping(&spans) => Ranges::Whole,
        _ => Ranges::Many(spans),
    }
}

/// Digits only (no sign, no spaces inside). A number past `u64::MAX` is
/// past the end of any file, and is read as `u64::MAX`: a last position
/// that large means "to the end", a suffix that long the whole file, and
/// a first position that large is unsatisfiable (RFC 9110 §14.1.2).
fn number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.parse().unwrap_or(u64::MAX))
}

/// Overlapping ranges make a set that can be larger than the file; they
/// are answered with the whole file instead (RFC 9110 §14.2 lets a server
/// refuse them).
fn overlapping(spans: &[Span]) -> bool {
    let mut sorted = spans.to_vec();
    sorted.sort_unstable();
    sorted.windows(2).any(|w| w[0].0 + w[0].1 > w[1].0)
}

/// `bytes a-b/len`.
pub(crate) fn content_range((start, n): Span, len: u64) -> String {
    format!("bytes {start}-{}/{len}", start + n - 1)
}

/// The body of a `multipart/byteranges` response and its boundary.
pub(crate) fn multipart(
    file: Rc<File>,
    spans: &[Span],
    len: u64,
    content_type: &str,
) -> (FileParts, String) {
    let boundary = boundary();
    let parts = spans
        .iter()
        .map(|&span| {
            let head = format!(
                "\r\n--{boundary}\r\ncontent-type: {content_type}\r\ncontent-range: {}\r\n\r\n",
                content_range(span, len)
            );
            FilePart {
                head: Bytes::from(head),
                offset: span.0,
                len: span.1,
            }
        })
        .collect();
    let tail = Bytes::from(format!("\r\n--{boundary}--\r\n"));
    (FileParts { file, parts, tail }, boundary)
}

/// A boundary that no file's bytes are likely to contain: 32 random hex
/// digits.
fn boundary() -> String {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    let mut a = state.build_hasher();
    a.write_u8(1);
    let mut b = state.build_hasher();
    b.write_u8(2);
    format!("{:016x}{:016x}", a.finish(), b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        use Ranges::*;
        let cases: &[(&str, u64, Ranges)] = &[
            ("bytes=0-9", 100, One((0, 10))),
            ("bytes=90-", 100, One((90, 10))),
            ("bytes=-10", 100, One((90, 10))),
            ("bytes=-1000", 100, One((0, 100))),
            ("bytes=95-200", 100, One((95, 5))),
            ("BYTES = 1-1", 100, One((1, 1))),
            ("bytes=0-0,-1", 100, Many(vec![(0, 1), (99, 1)])),
            ("bytes=50-59, 0-9", 100, Many(vec![(50, 10), (0, 10)])),
            ("bytes=0-9,,", 100, One((0, 10))),
            ("bytes=100-", 100, Unsatisfiable),
            ("bytes=200-300", 100, Unsatisfiable),
            ("bytes=-0", 100, Unsatisfiable),
            ("bytes=0-", 0, Unsatisfiable),
            ("bytes=-5", 0, Unsatisfiable),
            ("bytes=100-,0-1", 100, One((0, 2))),
            ("bytes=5-1", 100, Whole),
            ("bytes=a-b", 100, Whole),
            ("bytes=+1-2", 100, Whole),
            ("bytes=1-2-3", 100, Whole),
            ("bytes=", 100, Whole),
            ("items=0-1", 100, Whole),
            ("bytes 0-1", 100, Whole),
            ("bytes=0-50,25-75", 100, Whole),
            ("bytes=99999999999999999999-", 100, Unsatisfiable),
            ("bytes=0-99999999999999999999", 100, One((0, 100))),
            ("bytes=10-99999999999999999999", 100, One((10, 90))),
            ("bytes=-99999999999999999999", 100, One((0, 100))),
        ];
        for (value, len, want) in cases {
            assert_eq!(&parse(value, *len), want, "{value} of {len}");
        }
    }

    #[test]
    fn too_many_ranges_get_the_whole_file() {
        let many: Vec<String> = (0..=MAX_RANGES)
            .map(|i| format!("{}-{}", i * 2, i * 2))
            .collect();
        let value = format!("bytes={}", many.join(","));
        assert_eq!(parse(&value, 1000), Ranges::Whole);
        let allowed = format!("bytes={}", many[..MAX_RANGES].join(","));
        assert!(matches!(parse(&allowed, 1000), Ranges::Many(v) if v.len() == MAX_RANGES));
    }
}
