//! Conditional requests (RFC 9110 §13): `If-Match`, `If-Unmodified-Since`,
//! `If-None-Match`, `If-Modified-Since`, evaluated in the RFC's order, and
//! `If-Range`.

use crate::request::Request;
use std::time::SystemTime;

/// What the preconditions decide.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Precondition {
    /// Answer normally.
    Proceed,
    /// `304 Not Modified`.
    NotModified,
    /// `412 Precondition Failed`.
    Failed,
}

/// Evaluates the preconditions of a `GET` or `HEAD` for a representation
/// with this strong `etag` and `modified` time (RFC 9110 §13.2.2).
pub(crate) fn evaluate(req: &Request, etag: &str, modified: SystemTime) -> Precondition {
    if let Some(list) = req.header("if-match") {
        if !matches_any(list, etag, Compare::Strong) {
            return Precondition::Failed;
        }
    } else if let Some(date) = req.header("if-unmodified-since").and_then(parse_date) {
        if modified > date {
            return Precondition::Failed;
        }
    }
    if let Some(list) = req.header("if-none-match") {
        if matches_any(list, etag, Compare::Weak) {
            return Precondition::NotModified;
        }
    } else if let Some(date) = req.header("if-modified-since").and_then(parse_date) {
        if modified <= date {
            return Precondition::NotModified;
        }
    }
    Precondition::Proceed
}

/// Whether a `Range` may be honoured given `If-Range` (RFC 9110 §13.1.5):
/// absent, or it names the current representation exactly.
pub(crate) fn range_allowed(req: &Request, etag: &str, modified: SystemTime) -> bool {
    let Some(value) = req.header("if-range") else {
        return true;
    };
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        // A weak tag never matches: a range needs the exact bytes.
        return value == etag;
    }
    parse_date(value) == Some(modified)
}

fn parse_date(value: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(value.trim()).ok()
}

#[derive(Clone, Copy)]
enum Compare {
    Strong,
    Weak,
}

/// Whether an `If-Match`/`If-None-Match` value (`*` or a list of entity
/// tags) matches `etag`, our strong tag.
fn matches_any(list: &str, etag: &str, compare: Compare) -> bool {
    if list.trim() == "*" {
        return true;
    }
    let ours = etag.trim_matches('"');
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return false;
        }
        let weak = rest.starts_with("W/");
        if weak {
            rest = &rest[2..];
        }
        // An entity tag is a quoted string; commas may sit inside it.
        let Some(body) = rest.strip_prefix('"') else {
            return false;
        };
        let Some(end) = body.find('"') else {
            return false;
        };
        let tag = &body[..end];
        rest = &body[end + 1..];
        let equal = tag == ours;
        match compare {
            Compare::Strong if equal && !weak => return true,
            Compare::Weak if equal => return true,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const TAG: &str = "\"1-2-3\"";
    const LM: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

    fn modified() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(784111777)
    }

    fn eval(fields: &str) -> Precondition {
        let head = format!("GET / HTTP/1.1\r\nHost: x\r\n{fields}\r\n");
        let req = Request::parse(head.as_bytes()).unwrap();
        evaluate(&req, TAG, modified())
    }

    fn range_ok(field: &str) -> bool {
        let head = format!("GET / HTTP/1.1\r\nHost: x\r\n{field}\r\n");
        let req = Request::parse(head.as_bytes()).unwrap();
        range_allowed(&req, TAG, modified())
    }

    #[test]
    fn table() {
        use Precondition::*;
        let earlier = "Sun, 06 Nov 1994 08:49:36 GMT";
        let later = "Sun, 06 Nov 1994 08:49:38 GMT";
        let cases = [
            (String::new(), Proceed),
            (format!("If-None-Match: {TAG}\r\n"), NotModified),
            (format!("If-None-Match: W/{TAG}\r\n"), NotModified),
            ("If-None-Match: \"a\", \"1-2-3\"\r\n".into(), NotModified),
            ("If-None-Match: \"a,b\"\r\n".into(), Proceed),
            ("If-None-Match: *\r\n".into(), NotModified),
            ("If-None-Match: \"other\"\r\n".into(), Proceed),
            (format!("If-Modified-Since: {LM}\r\n"), NotModified),
            (format!("If-Modified-Since: {later}\r\n"), NotModified),
            (format!("If-Modified-Since: {earlier}\r\n"), Proceed),
            ("If-Modified-Since: yesterday\r\n".into(), Proceed),
            // If-None-Match wins over If-Modified-Since.
            (
                format!("If-None-Match: \"other\"\r\nIf-Modified-Since: {LM}\r\n"),
                Proceed,
            ),
            (format!("If-Match: {TAG}\r\n"), Proceed),
            (format!("If-Match: W/{TAG}\r\n"), Failed),
            ("If-Match: \"other\"\r\n".into(), Failed),
            ("If-Match: *\r\n".into(), Proceed),
            (format!("If-Unmodified-Since: {earlier}\r\n"), Failed),
            (format!("If-Unmodified-Since: {LM}\r\n"), Proceed),
            // If-Match wins over If-Unmodified-Since.
            (
                format!("If-Match: {TAG}\r\nIf-Unmodified-Since: {earlier}\r\n"),
                Proceed,
            ),
            (
                format!("If-Match: \"x\"\r\nIf-None-Match: {TAG}\r\n"),
                Failed,
            ),
        ];
        for (fields, want) in cases {
            assert_eq!(eval(&fields), want, "{fields:?}");
        }
    }

    #[test]
    fn if_range() {
        assert!(range_ok(""));
        assert!(range_ok(&format!("If-Range: {TAG}\r\n")));
        assert!(!range_ok(&format!("If-Range: W/{TAG}\r\n")));
        assert!(!range_ok("If-Range: \"other\"\r\n"));
        assert!(range_ok(&format!("If-Range: {LM}\r\n")));
        assert!(!range_ok("If-Range: Sun, 06 Nov 1994 08:49:38 GMT\r\n"));
    }
}
