//! Writing response heads and chunked framing into the output buffer.

mod cache;

use crate::fields::Fields;
use crate::response::ResponseBody;
use crate::status::has_body;
pub(crate) use cache::clear as clear_cache;
use std::io::Write;

/// How the body after a head is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Length {
    /// No length field at all (1xx, 204).
    None,
    Known(u64),
    Chunked,
    /// Until the connection closes (a stream to an HTTP/1.0 client).
    UntilClose,
}

/// Fields the server writes itself; a handler's copies are dropped.
fn is_reserved(name: &str) -> bool {
    ["content-length", "transfer-encoding", "date", "connection"]
        .iter()
        .any(|r| name.eq_ignore_ascii_case(r))
}

/// Appends a response head: status line, `Date`, the length field, the
/// handler's fields, `Connection` when it differs from the default for
/// `minor`, and the blank line. A head seen before this second is copied
/// from the shard's cache.
// Inlined: a cached head (nearly every one) is a key and a copy, which
// cost less than a call's saved registers and frame; the head put
// together piece by piece keeps its large frame out of line.
#[inline]
pub(crate) fn head(
    out: &mut Vec<u8>,
    status: u16,
    fields: &Fields,
    length: Length,
    keep_alive: bool,
    minor: u8,
) {
    crate::date::refresh_unless_ticking();
    let key = cache::Key::of(status, fields, length, keep_alive, minor);
    if let Some(key) = &key {
        if cache::write(key, out) {
            return;
        }
    }
    put_together(out, status, fields, length, keep_alive, minor, key);
}

/// Writes a head that is not cached, piece by piece, and keeps it for the
/// next time when `key` says it may be.
#[inline(never)]
fn put_together(
    out: &mut Vec<u8>,
    status: u16,
    fields: &Fields,
    length: Length,
    keep_alive: bool,
    minor: u8,
    key: Option<cache::Key>,
) {
    let start = out.len();
    let mut buf = itoa::Buffer::new();
    if (minor, status) == (1, 200) {
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\ndate: ");
    } else {
        out.extend_from_slice(if minor == 0 {
            b"HTTP/1.0 "
        } else {
            b"HTTP/1.1 "
        });
        out.extend_from_slice(buf.format(status).as_bytes());
        out.push(b' ');
        out.extend_from_slice(crate::status::reason(status).as_bytes());
        out.extend_from_slice(b"\r\ndate: ");
    }
    crate::date::append(out);
    match length {
        Length::Known(n) => {
            out.extend_from_slice(b"\r\ncontent-length: ");
            out.extend_from_slice(buf.format(n).as_bytes());
        }
        Length::Chunked => out.extend_from_slice(b"\r\ntransfer-encoding: chunked"),
        Length::None | Length::UntilClose => {}
    }
    if let Some(value) = fields.content_type() {
        out.extend_from_slice(b"\r\ncontent-type: ");
        out.extend_from_slice(value.as_bytes());
    }
    for (name, value) in fields.rest() {
        if is_reserved(name) {
            continue;
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
    }
    match (keep_alive, minor) {
        // Only the answer that switches protocols is a `101`.
        _ if status == 101 => out.extend_from_slice(b"\r\nconnection: upgrade"),
        (false, 1) => out.extend_from_slice(b"\r\nconnection: close"),
        (true, 0) => out.extend_from_slice(b"\r\nconnection: keep-alive"),
        _ => {}
    }
    out.extend_from_slice(b"\r\n\r\n");
    if let Some(key) = key {
        cache::keep(key, &out[start..]);
    }
}

/// Appends a whole response whose body is empty or in memory: its head,
/// with `Content-Length` where the status allows a body, then the body
/// unless the request was `HEAD` or the status has none. For other bodies
/// only the head is written.
// Inlined into `queue_response`, its hot caller, with the cached head's
// path of `head`: a call here saved and restored six registers per answer.
#[inline]
pub(crate) fn sized(
    out: &mut Vec<u8>,
    status: u16,
    fields: &Fields,
    body: &ResponseBody,
    is_head: bool,
    keep_alive: bool,
    minor: u8,
) {
    let with_body = has_body(status);
    let length = if with_body {
        Length::Known(body.len().unwrap_or(0))
    } else {
        Length::None
    };
    head(out, status, fields, length, keep_alive, minor);
    if let (ResponseBody::Bytes(bytes), true) = (body, with_body && !is_head) {
        out.extend_from_slice(bytes);
    }
}

/// Appends one chunk of a chunked body (RFC 9112 §7.1).
pub(crate) fn chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return; // a zero-size chunk would end the body
    }
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{:x}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The last chunk, with no trailers.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_chunks() {
        let mut out = Vec::new();
        chunk(&mut out, &[b'a'; 26]);
        chunk(&mut out, b"");
        out.extend_from_slice(LAST_CHUNK);
        assert_eq!(
            out,
            [&b"1a\r\n"[..], &[b'a'; 26], b"\r\n0\r\n\r\n"].concat()
        );
    }

    #[test]
    fn a_cached_head_is_the_head_written_piece_by_piece() {
        let fields = Fields::with_known_content_type("text/plain");
        for (keep_alive, minor) in [(true, 1), (false, 1), (true, 0), (false, 0)] {
            let (mut first, mut again) = (Vec::new(), Vec::new());
            head(
                &mut first,
                200,
                &fields,
                Length::Known(5),
                keep_alive,
                minor,
            );
            let key = cache::Key::of(200, &fields, Length::Known(5), keep_alive, minor);
            assert!(cache::write(&key.unwrap(), &mut Vec::new()), "kept");
            head(
                &mut again,
                200,
                &fields,
                Length::Known(5),
                keep_alive,
                minor,
            );
            // The second may have turned in between: the date aside.
            let date = 23..23 + 29;
            assert_eq!(first[..date.start], again[..date.start]);
            assert_eq!(first[date.end..], again[date.end..]);
        }
    }

    #[test]
    fn writes_a_head() {
        let mut out = Vec::new();
        let mut fields = Fields::default();
        fields.add("content-length".into(), "9".into());
        fields.add("x".into(), "y".into());
        head(&mut out, 200, &fields, Length::Known(2), false, 1);
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("HTTP/1.1 200 OK\r\ndate: "));
        assert!(
            s.ends_with("\r\ncontent-length: 2\r\nx: y\r\nconnection: close\r\n\r\n"),
            "{s}"
        );
    }
}
