//! Server limits and timeouts.

use std::time::Duration;

/// The most header fields any request may carry, whatever
/// [`Limits::max_headers`] says (the parser's slots live on the stack).
pub const MAX_HEADERS_CAP: usize = 128;

/// Size limits on requests. Each is answered with its status code and the
/// connection is closed, because the rest of the request was not read.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Longest request line (method, target, version), in bytes → `414`.
    pub max_request_line: usize,
    /// Most header fields → `431`. At most [`MAX_HEADERS_CAP`].
    pub max_headers: usize,
    /// Longest single header field (name, colon, value) → `431`.
    pub max_header_field: usize,
    /// Largest whole request head → `431`.
    pub max_head: usize,
    /// Largest request body → `413`: at once when `Content-Length` says so,
    /// or when a chunked body grows past it.
    pub max_body: u64,
    /// A handler that did not read its whole body leaves the rest to be
    /// skipped so the connection can be reused — up to this many bytes; a
    /// larger remainder closes the connection instead.
    pub max_body_drain: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_request_line: 8 * 1024,
            max_headers: 64,
            max_header_field: 8 * 1024,
            max_head: 16 * 1024,
            max_body: 4 * 1024 * 1024,
            max_body_drain: 64 * 1024,
        }
    }
}

/// Per-connection deadlines.
///
/// The header and body-read deadlines are timers on the shard's wheel
/// (millisecond precision). The idle and write deadlines, which every
/// request meets, are entries in a table that one task per server sweeps
/// every eighth of the shorter of the two (between 5 ms and 1 s): a
/// connection gives up between its deadline and one sweep later, never
/// before.
#[derive(Clone, Debug)]
pub struct Timeouts {
    /// From when the server first finds a request head incomplete (right
    /// after its first bytes arrive, unless earlier pipelined requests kept
    /// it busy) to the end of the head, however the bytes trickle in →
    /// `408` and close.
    pub header: Duration,
    /// Longest wait for the next piece of a request body → the body read
    /// fails (`408` if the handler returns the error) and the connection
    /// closes.
    pub body_read: Duration,
    /// Longest wait for the next request on a kept-alive connection, and
    /// for the first one on a new connection → close, silently.
    pub idle: Duration,
    /// Longest wait for one write to make progress when the client stops
    /// reading → close.
    pub write: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            header: Duration::from_secs(10),
            body_read: Duration::from_secs(30),
            idle: Duration::from_secs(60),
            write: Duration::from_secs(30),
        }
    }
}
