//! From a request path to a path relative to the served root: percent
//! decoding, then a strict check of every segment.
//!
//! This is the first of two guards. The second is the kernel's: files are
//! opened with `RESOLVE_BENEATH`, so even a path this check let through
//! could not leave the root.

use percent_encoding::percent_decode_str;
use std::ffi::CString;

/// A request path made safe to open beneath the root.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RelPath {
    /// Segments joined by `/`, no empty, `.` or `..` segment; `.` for the
    /// root itself.
    pub(crate) rel: String,
    /// The request path ended in `/` (it names a directory).
    pub(crate) dir: bool,
    /// A segment starts with `.`.
    pub(crate) hidden: bool,
}

/// Why a request path was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Not valid percent-encoded UTF-8, or it holds `..`, a backslash or a
    /// NUL → `400`.
    BadRequest,
}

impl RelPath {
    /// Decodes and checks `path`, the request's path (without the query).
    pub(crate) fn parse(path: &str) -> Result<RelPath, Refused> {
        // Overlong and otherwise invalid UTF-8 fails here.
        let decoded = percent_decode_str(path)
            .decode_utf8()
            .map_err(|_| Refused::BadRequest)?;
        if decoded.contains(['\0', '\\']) {
            return Err(Refused::BadRequest);
        }
        let mut rel = String::with_capacity(decoded.len());
        let mut hidden = false;
        // An encoded slash is a separator like any other: it is checked,
        // not smuggled past the check.
        for segment in decoded.split('/') {
            match segment {
                "" | "." => continue,
                ".." => return Err(Refused::BadRequest),
                s => {
                    hidden |= s.starts_with('.');
                    if !rel.is_empty() {
                        rel.push('/');
                    }
                    rel.push_str(s);
                }
            }
        }
        let dir = decoded.ends_with('/') || rel.is_empty();
        if rel.is_empty() {
            rel.push('.');
        }
        Ok(RelPath { rel, dir, hidden })
    }

    /// `rel` (a checked relative path) and `suffix` as a path for
    /// `openat2`.
    pub(crate) fn c_string(rel: &str, suffix: &str) -> CString {
        let mut bytes = Vec::with_capacity(rel.len() + suffix.len() + 1);
        bytes.extend_from_slice(rel.as_bytes());
        bytes.extend_from_slice(suffix.as_bytes());
        // NUL was refused in `parse`; an empty path fails to open.
        CString::new(bytes).unwrap_or_default()
    }

    /// The URL path of this directory with a trailing slash, percent-encoded
    /// again: where `/dir` is redirected to. Built from the checked
    /// segments, so `//host/x` cannot become an off-site redirect.
    pub(crate) fn dir_url(&self) -> String {
        let mut url = String::from("/");
        if self.rel != "." {
            for segment in self.rel.split('/') {
                url.extend(percent_encoding::utf8_percent_encode(segment, SEGMENT));
                url.push('/');
            }
        }
        url
    }
}

/// Characters escaped in one path segment of a URL we write.
pub(crate) const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(path: &str) -> Result<(String, bool, bool), Refused> {
        RelPath::parse(path).map(|p| (p.rel, p.dir, p.hidden))
    }

    #[test]
    fn table() {
        let ok = |r: &str, dir, hidden| -> Result<_, Refused> { Ok((r.to_owned(), dir, hidden)) };
        let bad = || Err(Refused::BadRequest);
        let cases = [
            ("/", ok(".", true, false)),
            ("", ok(".", true, false)),
            ("/a/b.txt", ok("a/b.txt", false, false)),
            ("/a//b/./c", ok("a/b/c", false, false)),
            ("/dir/", ok("dir", true, false)),
            ("/sp%20ace", ok("sp ace", false, false)),
            ("/caf%C3%A9", ok("café", false, false)),
            ("/a%2Fb", ok("a/b", false, false)),
            ("/.env", ok(".env", false, true)),
            ("/a/.git/config", ok("a/.git/config", false, true)),
            ("/..", bad()),
            ("/a/../../etc/passwd", bad()),
            ("/%2e%2e/etc/passwd", bad()),
            ("/%2E%2E%2Fetc%2Fpasswd", bad()),
            ("/a%2F..%2F..%2Fx", bad()),
            ("/a\\..\\x", bad()),
            ("/a%5C..%5Cx", bad()),
            ("/a%00.txt", bad()),
            ("/%C0%AE%C0%AE/x", bad()),
            ("/%E0%80%AE", bad()),
            ("/%FF", bad()),
        ];
        for (path, want) in cases {
            let want: Result<(String, bool, bool), Refused> = want;
            assert_eq!(rel(path), want, "{path}");
        }
    }

    #[test]
    fn redirects_stay_on_site() {
        let p = RelPath::parse("//evil.example/x").unwrap();
        assert_eq!(p.dir_url(), "/evil.example/x/");
        assert_eq!(RelPath::parse("/").unwrap().dir_url(), "/");
        assert_eq!(RelPath::parse("/a b").unwrap().dir_url(), "/a%20b/");
    }
}
