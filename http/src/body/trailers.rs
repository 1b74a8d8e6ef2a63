//! The trailer section of a chunked request body (RFC 9112 §7.1.2).

use std::fmt;

/// The trailer fields that followed a chunked request body's last chunk:
/// see [`Body::trailers`](crate::Body::trailers).
///
/// They were checked as a head's field lines are (a token, a colon, a
/// value of visible characters, spaces and tabs; no folding), and count
/// against the same 16 KiB limit as the rest of the trailer section. They
/// are kept apart from the request's head: RFC 9110 §6.5.1 lets a
/// recipient merge a trailer field into the head only where the field's
/// definition allows it, which is for the handler to know.
#[derive(Clone, Copy)]
pub struct Trailers<'a> {
    /// Field lines as received, each ending in CRLF.
    lines: &'a [u8],
}

impl<'a> Trailers<'a> {
    pub(crate) fn new(lines: &'a [u8]) -> Trailers<'a> {
        Trailers { lines }
    }

    /// The value of the first field named `name` (compared ignoring ASCII
    /// case), without the whitespace around it.
    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every field in the order received: its name and its value, without
    /// the whitespace around it. A value may hold bytes outside ASCII.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        self.lines
            .split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let colon = line.iter().position(|&b| b == b':').unwrap_or(line.len());
                // The decoder let through only token characters before the
                // colon, all of them ASCII.
                let name = std::str::from_utf8(&line[..colon]).unwrap_or_default();
                let value = line.get(colon + 1..).unwrap_or_default();
                (name, value.trim_ascii())
            })
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

impl fmt::Debug for Trailers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(n, v)| (n, String::from_utf8_lossy(v))))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_by_name_and_in_order() {
        let t = Trailers::new(b"X-Sum: caf\xc3\xa9 \r\nx-empty:\r\nX-SUM:\t2\r\n");
        assert_eq!(
            t.get("x-sum"),
            Some(&b"caf\xc3\xa9"[..]),
            "the first, trimmed"
        );
        assert_eq!(t.get("X-Empty"), Some(&b""[..]));
        assert_eq!(t.get("missing"), None);
        let all: Vec<_> = t.iter().collect();
        assert_eq!(
            all,
            [
                ("X-Sum", &b"caf\xc3\xa9"[..]),
                ("x-empty", b""),
                ("X-SUM", b"2")
            ]
        );
        assert_eq!((t.len(), t.is_empty()), (3, false));
        assert!(Trailers::new(b"").is_empty());
    }
}
