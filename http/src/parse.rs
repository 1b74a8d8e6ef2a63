//! Request heads: httparse finds the pieces, then the framing rules that
//! keep request smuggling out are checked here (RFC 9112 §6).
//!
//! A head is kept as offsets into the connection's receive buffer, so
//! parsing copies nothing; [`Request`](crate::Request) resolves them.

use crate::config::{Limits, MAX_HEADERS_CAP};
use crate::method::Method;
use std::mem::MaybeUninit;

/// Byte offsets `start..end` into the buffer a head was parsed from.
pub(crate) type Span = (u32, u32);

/// How the request body is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// What a request keeps of its head: the request line and the header
/// fields, as offsets. [`parse`] writes it in place, into the pooled state
/// the request will own, so a head is not moved on its way there.
#[derive(Debug)]
pub(crate) struct Line {
    pub(crate) method: Method,
    /// The minor version: `HTTP/1.0` or `HTTP/1.1`.
    pub(crate) minor: u8,
    pub(crate) path: Span,
    pub(crate) query: Option<Span>,
    /// The authority of an absolute-form target (`http://host:port/...`),
    /// which stands in for `Host` (RFC 9112 §3.2.2).
    pub(crate) authority: Option<Span>,
    /// A name and a value for each field, in order.
    pub(crate) headers: Vec<(Span, Span)>,
    /// What the connection needs of the head, once it is complete.
    pub(crate) head: Head,
}

impl Default for Line {
    fn default() -> Line {
        Line {
            method: Method::Get,
            minor: 1,
            path: (0, 0),
            query: None,
            authority: None,
            headers: Vec::new(),
            head: Head {
                len: 0,
                framing: Framing::None,
                keep_alive: true,
                expect_continue: false,
            },
        }
    }
}

/// What the connection needs of a parsed, checked head.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Head {
    /// Bytes the head takes, its blank line included.
    pub(crate) len: usize,
    pub(crate) framing: Framing,
    pub(crate) keep_alive: bool,
    pub(crate) expect_continue: bool,
}

/// Why a request was refused before a handler saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub(crate) status: u16,
    pub(crate) reason: &'static str,
}

/// A `&'static Rejection`: every refusal is a constant, and a reference
/// keeps [`Parsed`] small enough to come back in registers.
macro_rules! reject {
    ($status:expr, $reason:expr) => {
        &Rejection {
            status: $status,
            reason: $reason,
        }
    };
}

/// What [`parse`] found. A complete head's framing is in the `Line` it
/// wrote (`line.head`), so that this is two words, returned in registers
/// rather than through memory the caller would copy it out of.
#[derive(Debug)]
pub(crate) enum Parsed {
    Complete,
    /// More bytes are needed.
    Partial,
    Invalid(&'static Rejection),
}

/// Parses the head at the start of `bytes` into `line` (its vector
/// cleared first and reused, so that a pooled `Line` allocates nothing);
/// offsets are `base` plus offsets into `bytes`.
pub(crate) fn parse(bytes: &[u8], base: usize, limits: &Limits, line: &mut Line) -> Parsed {
    line.headers.clear();
    match parse_inner(bytes, base, limits, line) {
        Ok(Some(head)) => {
            line.head = head;
            Parsed::Complete
        }
        Ok(None) => Parsed::Partial,
        Err(MALFORMED_VERSION) => parse_as_http_1_1(bytes, base, limits, line),
        Err(r) => Parsed::Invalid(r),
    }
}

fn parse_inner(
    bytes: &[u8],
    base: usize,
    limits: &Limits,
    line: &mut Line,
) -> Result<Option<Head>, &'static Rejection> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS_CAP];
    let mut req = httparse::Request::new(&mut []);
    let parsed = req.parse_with_uninit_headers(bytes, &mut slots);
    let len = match parsed {
        Ok(httparse::Status::Complete(n)) => {
            // `METHOD SP target SP HTTP/1.x`: the line's length without
            // scanning it again.
            let method = req.method.map_or(0, str::len);
            let target = req.path.map_or(0, str::len);
            if method + target + 10 > limits.max_request_line {
                return Err(LINE_TOO_LONG);
            }
            n
        }
        unfinished => return not_complete(unfinished, bytes, limits),
    };
    if len > limits.max_head {
        return Err(reject!(431, "request head too large"));
    }
    // httparse hands out slices of `bytes`, except that an empty value may
    // point anywhere: it gets an empty span.
    let span = |s: &[u8]| -> Span {
        match (s.as_ptr() as usize).checked_sub(bytes.as_ptr() as usize) {
            Some(at) if !s.is_empty() && at + s.len() <= bytes.len() => {
                let start = (base + at) as u32;
                (start, start + s.len() as u32)
            }
            _ => (base as u32, base as u32),
        }
    };

    let method = req.method.unwrap_or_default();
    let method =
        Method::from_bytes(method.as_bytes()).ok_or(reject!(501, "unknown request method"))?;
    if method == Method::Connect {
        return Err(reject!(501, "CONNECT is not supported"));
    }
    let minor = req.version.unwrap_or(1);
    let target = req.path.unwrap_or_default();
    let target = split_target(target, method)?;

    if req.headers.len() > limits.max_headers {
        return Err(reject!(431, "too many header fields"));
    }
    let mut fields = Framer::new(minor);
    let headers = &mut line.headers;
    headers.reserve(req.headers.len());
    for h in req.headers.iter() {
        if h.name.len() + 1 + h.value.len() > limits.max_header_field {
            return Err(reject!(431, "header field too large"));
        }
        fields.see(h.name, h.value)?;
        headers.push((span(h.name.as_bytes()), span(h.value)));
    }
    let (framing, keep_alive, expect_continue) = fields.finish()?;
    line.method = method;
    line.minor = minor;
    line.path = span(target.path.as_bytes());
    line.query = target.query.map(|q| span(q.as_bytes()));
    line.authority = target.authority.map(|a| span(a.as_bytes()));
    Ok(Some(Head {
        len,
        framing,
        keep_alive,
        expect_continue,
    }))
}

const LINE_TOO_LONG: &Rejection = reject!(414, "request line too long");

/// What a head that httparse did not complete means: `414` for an
/// over-long request line whatever else is wrong, otherwise more bytes
/// to wait for or the error's status.
fn not_complete(
    parsed: httparse::Result<usize>,
    bytes: &[u8],
    limits: &Limits,
) -> Result<Option<Head>, &'static Rejection> {
    check_request_line(bytes, limits)?;
    match parsed {
        Ok(httparse::Status::Partial) if bytes.len() > limits.max_head => {
            Err(reject!(431, "request head too large"))
        }
        // Partial (a complete head never comes here): wait for more.
        Ok(_) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => Err(reject!(431, "too many header fields")),
        Err(httparse::Error::Version) => Err(version_rejection(bytes)),
        Err(e) => Err(parse_error(e)),
    }
}

/// A head whose version httparse could not read, parsed again as HTTP/1.1
/// if it is a later HTTP/1.x (`HTTP/1.2` to `HTTP/1.9`): a server reads
/// such a request as the highest minor version it implements (RFC 9110
/// §2.5), and httparse knows only `1.0` and `1.1`. The parse is of a copy
/// whose version reads `1.1`; every byte keeps its offset there, so the
/// spans written to `line` hold for `bytes`. Any other version keeps its
/// `400`.
#[cold]
#[inline(never)]
fn parse_as_http_1_1(bytes: &[u8], base: usize, limits: &Limits, line: &mut Line) -> Parsed {
    let refused = Parsed::Invalid(MALFORMED_VERSION);
    let version = request_version(bytes);
    let [b'H', b'T', b'T', b'P', b'/', b'1', b'.', b'2'..=b'9'] = version else {
        return refused;
    };
    let minor = version.as_ptr() as usize - bytes.as_ptr() as usize + 7;
    // One byte past the longest head: enough to tell "too large" apart.
    let mut copy = bytes[..bytes.len().min(limits.max_head + 1)].to_vec();
    let Some(digit) = copy.get_mut(minor) else {
        return refused;
    };
    *digit = b'1';
    // At most once more: the copy's version is `HTTP/1.1`.
    parse(&copy, base, limits, line)
}

/// What follows the empty lines a request may start with (RFC 9112 §2.2).
fn skip_empty_lines(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// The request line without its line ending, or as much of it as has come.
fn request_line(bytes: &[u8]) -> &[u8] {
    let line = skip_empty_lines(bytes)
        .split(|&b| b == b'\n')
        .next()
        .unwrap_or_default();
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The request line's last word: its version, when the line is whole
/// and well formed.
fn request_version(bytes: &[u8]) -> &[u8] {
    // `rsplit` yields at least one piece, the whole line if it has no space.
    request_line(bytes)
        .rsplit(|&b| b == b' ')
        .next()
        .unwrap_or_default()
}

/// `414` for a request line over the limit, complete or not.
fn check_request_line(bytes: &[u8], limits: &Limits) -> Result<(), &'static Rejection> {
    let rest = skip_empty_lines(bytes);
    let window = &rest[..rest.len().min(limits.max_request_line + 2)];
    let line = match window.iter().position(|&b| b == b'\n') {
        Some(i) => &window[..i],
        None if rest.len() > limits.max_request_line => return Err(LINE_TOO_LONG),
        None => return Ok(()),
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > limits.max_request_line {
        return Err(LINE_TOO_LONG);
    }
    Ok(())
}

/// httparse knows only HTTP/1.x: `505` for a well-formed later version,
/// `400` for anything else (httparse also says "version" when a target
/// has a space in it).
fn version_rejection(bytes: &[u8]) -> &'static Rejection {
    match request_version(bytes) {
        [b'H', b'T', b'T', b'P', b'/', major, rest @ ..]
            if major.is_ascii_digit()
                && *major >= b'2'
                && (rest.is_empty() || matches!(rest, [b'.', m] if m.is_ascii_digit())) =>
        {
            reject!(505, "HTTP version not supported")
        }
        // The line ends in a good version, so the trouble is before it:
        // a space inside the target (`GET /a b HTTP/1.1`), say.
        b"HTTP/1.0" | b"HTTP/1.1" => reject!(400, "malformed request line"),
        _ => MALFORMED_VERSION,
    }
}

/// A version that is none of `HTTP/1.0`, `HTTP/1.1` or a later major one.
const MALFORMED_VERSION: &Rejection = reject!(400, "malformed HTTP version");

/// The `400` for a head httparse refused.
fn parse_error(e: httparse::Error) -> &'static Rejection {
    match e {
        httparse::Error::HeaderName => reject!(400, "malformed header field name"),
        httparse::Error::HeaderValue => reject!(400, "malformed header field value"),
        httparse::Error::NewLine => reject!(400, "malformed line ending"),
        httparse::Error::Token => reject!(400, "malformed request line"),
        _ => reject!(400, "malformed request"),
    }
}

/// A request target split into its parts (RFC 9112 §3.2).
struct Target<'a> {
    path: &'a str,
    query: Option<&'a str>,
    /// Only in absolute-form.
    authority: Option<&'a str>,
}

/// Splits the request target into path, query and, in absolute-form,
/// authority (RFC 9112 §3.2). A fragment (`#`) has no place in a request
/// target, and an absolute-form authority must be a valid host.
fn split_target(target: &str, method: Method) -> Result<Target<'_>, &'static Rejection> {
    const MALFORMED: &Rejection = reject!(400, "malformed request target");
    let (path, authority) = if target.starts_with('/') {
        (target, None)
    } else if target == "*" && method == Method::Options {
        return Ok(Target {
            path: target,
            query: None,
            authority: None,
        });
    } else if let Some(rest) = strip_scheme(target) {
        // absolute-form: the path starts after the authority.
        // An empty path stands for "/" (RFC 9112 §3.2.2); the span stays
        // inside the buffer and `Request::path` reads it as "/".
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..end];
        // RFC 9110 §4.2.1: an `http` URI with an empty host is invalid,
        // and userinfo (`user@`) is treated as an error (§4.2.4).
        if authority.is_empty() || !crate::host::is_valid(authority.as_bytes()) {
            return Err(MALFORMED);
        }
        (&rest[end..], Some(authority))
    } else {
        return Err(MALFORMED);
    };
    // A byte loop: targets are short, and an out-of-line search costs more
    // than it saves on them.
    let mut question = None;
    for (i, b) in path.bytes().enumerate() {
        match b {
            b'?' if question.is_none() => question = Some(i),
            b'#' => return Err(MALFORMED),
            _ => {}
        }
    }
    let (path, query) = match question {
        Some(i) => (&path[..i], Some(&path[i + 1..])),
        None => (path, None),
    };
    Ok(Target {
        path,
        query,
        authority,
    })
}

/// An absolute-form target after its `http://` or `https://`; the scheme
/// is compared in any case (RFC 3986 §3.1).
fn strip_scheme(target: &str) -> Option<&str> {
    let (scheme, rest) = target.split_once("://")?;
    (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")).then_some(rest)
}

/// The headers that decide framing and connection handling, checked as
/// they are seen.
struct Framer {
    minor: u8,
    hosts: usize,
    length: Option<u64>,
    /// Transfer codings in order; only their last is kept, plus whether an
    /// earlier one was seen.
    coding_count: usize,
    last_coding_chunked: bool,
    chunked_seen: bool,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
}

impl Framer {
    fn new(minor: u8) -> Framer {
        Framer {
            minor,
            hosts: 0,
            length: None,
            coding_count: 0,
            last_coding_chunked: false,
            chunked_seen: false,
            close: false,
            keep_alive: false,
            expect_continue: false,
        }
    }

    fn see(&mut self, name: &str, value: &[u8]) -> Result<(), &'static Rejection> {
        let is = |n: &str| is_named(name.as_bytes(), n.as_bytes());
        if is("host") {
            self.hosts += 1;
            if !crate::host::is_valid(value) {
                return Err(reject!(400, "malformed Host"));
            }
        } else if is("content-length") {
            self.content_length(value)?;
        } else if is("transfer-encoding") {
            self.transfer_encoding(value)?;
        } else if is("connection") {
            for token in list(value) {
                if token.eq_ignore_ascii_case(b"close") {
                    self.close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    self.keep_alive = true;
                }
            }
        } else if is("expect") {
            // RFC 9110 §10.1.1: 100-continue is the only expectation.
            if trim(value).eq_ignore_ascii_case(b"100-continue") {
                self.expect_continue = true;
            } else {
                return Err(reject!(417, "unsupported expectation"));
            }
        }
        Ok(())
    }

    /// RFC 9112 §6.3: a list of identical values is that value; differing
    /// or malformed values are unrecoverable framing errors.
    fn content_length(&mut self, value: &[u8]) -> Result<(), &'static Rejection> {
        let mut any = false;
        for item in value.split(|&b| b == b',') {
            let item = trim(item);
            if item.is_empty() || item.len() > 18 || !item.iter().all(u8::is_ascii_digit) {
                return Err(reject!(400, "malformed Content-Length"));
            }
            let n = item.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            match self.length {
                Some(m) if m != n => return Err(reject!(400, "conflicting Content-Length")),
                _ => self.length = Some(n),
            }
            any = true;
        }
        if !any {
            return Err(reject!(400, "malformed Content-Length"));
        }
        Ok(())
    }

    /// RFC 9112 §6.1: chunked must be the final coding, and only once; we
    /// decode no other coding, so any other is `501`.
    fn transfer_encoding(&mut self, value: &[u8]) -> Result<(), &'static Rejection> {
        let mut any = false;
        for coding in list(value) {
            any = true;
            // A coding may carry parameters (`;q=...` is for TE only, but
            // extensions may have them); the name decides.
            let name = trim(coding.split(|&b| b == b';').next().unwrap_or_default());
            let chunked = name.eq_ignore_ascii_case(b"chunked");
            if chunked && self.chunked_seen {
                return Err(reject!(400, "chunked applied twice"));
            }
            if !chunked && !is_registered_coding(name) {
                return Err(reject!(501, "unknown transfer coding"));
            }
            self.chunked_seen |= chunked;
            self.last_coding_chunked = chunked;
            self.coding_count += 1;
        }
        if !any {
            return Err(reject!(400, "empty Transfer-Encoding"));
        }
        Ok(())
    }

    // Inlined into `parse_inner`, its one caller: called, its result
    // came back through memory (22 instructions a request, and 0.6 % of
    // the pipelined server core in a `perf` profile).
    #[inline(always)]
    fn finish(self) -> Result<(Framing, bool, bool), &'static Rejection> {
        if self.minor == 1 && self.hosts != 1 {
            // RFC 9112 §3.2: exactly one Host in HTTP/1.1.
            return Err(reject!(400, "HTTP/1.1 needs exactly one Host"));
        }
        if self.hosts > 1 {
            return Err(reject!(400, "repeated Host"));
        }
        let framing = if self.coding_count > 0 {
            if self.length.is_some() {
                return Err(reject!(400, "Content-Length with Transfer-Encoding"));
            }
            if self.minor == 0 {
                return Err(reject!(400, "Transfer-Encoding in HTTP/1.0"));
            }
            if !self.last_coding_chunked {
                return Err(reject!(400, "final transfer coding is not chunked"));
            }
            if self.coding_count > 1 {
                return Err(reject!(501, "transfer coding other than chunked"));
            }
            Framing::Chunked
        } else {
            match self.length {
                Some(0) | None => Framing::None,
                Some(n) => Framing::Length(n),
            }
        };
        let keep_alive = if self.minor == 0 {
            self.keep_alive && !self.close
        } else {
            !self.close
        };
        // RFC 9110 §10.1.1 and §15.2: an HTTP/1.0 client's 100-continue is
        // ignored, as it would not understand a 1xx answer.
        let expect_continue = self.expect_continue && self.minor == 1;
        Ok((framing, keep_alive, expect_continue))
    }
}

/// Whether `name`, a token (httparse checked it), is `lower` (lowercase
/// letters and `-`) in any case. Setting bit 5 lowercases a letter, leaves
/// `-` as it is, and turns no other token byte into either: a test
/// without branches per byte, for names compared on every request.
fn is_named(name: &[u8], lower: &[u8]) -> bool {
    name.len() == lower.len()
        && name
            .iter()
            .zip(lower)
            .fold(0, |diff, (a, b)| diff | ((a | 0x20) ^ b))
            == 0
}

/// Codings registered for Transfer-Encoding (RFC 9110 §18.6).
fn is_registered_coding(name: &[u8]) -> bool {
    [
        &b"gzip"[..],
        b"x-gzip",
        b"deflate",
        b"compress",
        b"x-compress",
    ]
    .iter()
    .any(|c| name.eq_ignore_ascii_case(c))
}

/// The non-empty items of a comma-separated list, trimmed.
fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim)
        .filter(|t| !t.is_empty())
}

pub(crate) fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(req: &str) -> &'static str {
        match parse(req.as_bytes(), 0, &Limits::default(), &mut Line::default()) {
            Parsed::Invalid(r) => r.reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_reason_names_what_is_wrong() {
        let cases = [
            (
                "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
                "malformed request line",
            ),
            (
                "GET / HTTP/1.x\r\nHost: a\r\n\r\n",
                "malformed HTTP version",
            ),
            (
                "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
                "HTTP version not supported",
            ),
            ("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "malformed Host"),
            (
                "\r\nGET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
                "malformed request line",
            ),
            (
                "GET /a b HTTP/1.4\r\nHost: a\r\n\r\n",
                "malformed request line",
            ),
            (
                "GET /#a HTTP/1.1\r\nHost: a\r\n\r\n",
                "malformed request target",
            ),
        ];
        for (req, want) in cases {
            assert_eq!(reason(req), want, "{req:?}");
        }
    }

    fn status(req: &str) -> u16 {
        match parse(req.as_bytes(), 0, &Limits::default(), &mut Line::default()) {
            Parsed::Complete => 200,
            Parsed::Partial => 0,
            Parsed::Invalid(r) => r.status,
        }
    }

    #[test]
    fn framing_table() {
        let cases = [
            ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 200),
            ("GET / HTTP/1.1\r\nHost: a\r\n", 0),
            ("GET / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            ("GET / HTTP/1.0\r\n\r\n", 200),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1Z\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 4\r\n\r\n", 200),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 5\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 200),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo\r\n\r\n", 501),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 400),
            ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            ("GET / HTTP/3\r\nHost: a\r\n\r\n", 505),
            ("GET / HTTP/1.2x\r\nHost: a\r\n\r\n", 400),
            // A later HTTP/1.x is read as HTTP/1.1 (RFC 9110 §2.5).
            ("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 200),
            ("GET / HTTP/1.9\r\n\r\n", 400),
            ("GET / HTTP/1.2\r\nHost: a\r\n", 0),
            ("GET / HTTP/1.2", 0),
            ("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400),
            ("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 400),
            ("GET /a b HTTP/1.2\r\nHost: a\r\n\r\n", 400),
            // Empty lines before the request line change nothing.
            ("\r\nGET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            ("\n\r\nGET / HTTP/1.3\r\nHost: a\r\n\r\n", 200),
            ("BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
            ("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", 200),
            ("GET / HTTP/1.1\r\nHost: a\r\nExpect: tea\r\n\r\n", 417),
            ("GET nope HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 200),
            ("GET http://a/b?c HTTP/1.1\r\nHost: a\r\n\r\n", 200),
            ("POST https://0).0Sa HTTP/1.0\n\n", 200),
            // A fragment is not part of a request target.
            ("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("GET /a?b#c HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("GET /a?b?c HTTP/1.1\r\nHost: a\r\n\r\n", 200),
            // Absolute-form: the authority must be a host.
            ("GET http:///b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("GET http://a:8080 HTTP/1.1\r\nHost: a\r\n\r\n", 200),
            ("GET http://[::1]:80/ HTTP/1.1\r\nHost: a\r\n\r\n", 200),
            ("GET http://a:b/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            ("GET HTTP://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 200),
            ("GET Https://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 200),
            ("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ];
        for (req, want) in cases {
            assert_eq!(status(req), want, "{req:?}");
        }
    }

    #[test]
    fn limits() {
        let long = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(9000));
        assert_eq!(status(&long), 414);
        assert_eq!(status(&long[..8500]), 414, "a partial long line");
        // A complete head: the line is measured from its parsed pieces.
        let max = Limits::default().max_request_line;
        let at = |n: usize| {
            let target = format!("/{}", "a".repeat(n - "GET  HTTP/1.1".len() - 1));
            let req = format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(req.find('\r'), Some(n));
            status(&req)
        };
        assert_eq!(at(max), 200, "a line of exactly the limit");
        assert_eq!(at(max + 1), 414, "one byte over");
        let crlf = format!(
            "\r\n\r\nGET /{} HTTP/1.1\r\nHost: a\r\n\r\n",
            "a".repeat(max)
        );
        assert_eq!(
            status(&crlf),
            414,
            "leading empty lines are not counted, the line is"
        );
        let many: String = (0..70).map(|i| format!("X-{i}: v\r\n")).collect();
        assert_eq!(
            status(&format!("GET / HTTP/1.1\r\nHost: a\r\n{many}\r\n")),
            431
        );
        let big = format!(
            "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
            "v".repeat(9000)
        );
        assert_eq!(status(&big), 431);
    }

    #[test]
    fn a_malformed_host_is_refused() {
        assert_eq!(status("GET / HTTP/1.1\r\nHost: a.example:80\r\n\r\n"), 200);
        assert_eq!(status("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), 400);
        assert_eq!(status("GET / HTTP/1.1\r\nHost:\r\n\r\n"), 200, "empty");
        // Whitespace around a field value is not part of it (RFC 9112 §5).
        assert_eq!(status("GET / HTTP/1.1\r\nHost: \t a:1 \t\r\n\r\n"), 200);
    }

    #[test]
    fn names_match_in_any_case_and_only_in_full() {
        assert!(is_named(b"Host", b"host"));
        assert!(is_named(b"CONTENT-LENGTH", b"content-length"));
        assert!(!is_named(b"Hos", b"host"));
        assert!(!is_named(b"Hosts", b"host"));
        // Token bytes next to letters in ASCII do not pass for them.
        assert!(!is_named(b"Hos^", b"host"));
        assert!(!is_named(b"Hos`", b"host"));
        assert!(!is_named(b"content_length", b"content-length"));
        assert!(!is_named(b"content.length", b"content-length"));
    }

    #[test]
    fn a_later_minor_version_is_read_as_http_1_1() {
        let req = b"\r\nPOST /a?b HTTP/1.7\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi";
        let mut line = Line::default();
        let Parsed::Complete = parse(req, 100, &Limits::default(), &mut line) else {
            panic!("not parsed");
        };
        assert_eq!(line.method, Method::Post);
        assert_eq!(line.minor, 1);
        assert!(line.head.keep_alive, "HTTP/1.1's default");
        assert_eq!(line.head.framing, Framing::Length(2));
        assert_eq!(line.head.len, req.len() - 2);
        // The spans point into the buffer parsed, not into the copy.
        let s = |(a, b): Span| &req[a as usize - 100..b as usize - 100];
        assert_eq!(s(line.path), b"/a");
        assert_eq!(s(line.query.unwrap()), b"b");
        let [(name, value), (length, two)] = line.headers[..] else {
            panic!("{:?}", line.headers);
        };
        assert_eq!((s(name), s(value)), (&b"Host"[..], &b"h"[..]));
        assert_eq!((s(length), s(two)), (&b"Content-Length"[..], &b"2"[..]));
        // Limits are those of any head.
        let limits = Limits::default();
        let many: String = (0..70).map(|i| format!("X-{i}: v\r\n")).collect();
        let big = format!("GET / HTTP/1.2\r\nHost: a\r\n{many}\r\n");
        assert_eq!(status(&big), 431);
        let unfinished = format!("GET / HTTP/1.2\r\nX: {}", "v".repeat(limits.max_head));
        assert_eq!(status(&unfinished), 431);
    }

    #[test]
    fn head_fields() {
        let req = b"\r\nGET /a/b?x=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nrest";
        let mut line = Line::default();
        line.headers.push(((0, 0), (0, 0)));
        let Parsed::Complete = parse(req, 10, &Limits::default(), &mut line) else {
            panic!("not parsed");
        };
        let h = line.head;
        assert_eq!(line.headers.len(), 1, "cleared, then the one field");
        assert_eq!(line.method, Method::Get);
        assert_eq!(line.minor, 0);
        assert!(h.keep_alive);
        assert_eq!(h.len, req.len() - 4);
        let s = |(a, b): Span| &req[a as usize - 10..b as usize - 10];
        assert_eq!(s(line.path), b"/a/b");
        assert_eq!(s(line.query.unwrap()), b"x=1");
    }
}
