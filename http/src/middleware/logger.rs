use super::log_sink::LogSink;
use super::{Middleware, Next};
use crate::request::Request;
use crate::response::Response;
use futures_util::future::LocalBoxFuture;
use std::cell::RefCell;
use std::fmt;
use std::io::Write;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

/// Lines are written to the sink when this many bytes are buffered...
const FLUSH_BYTES: usize = 32 * 1024;
/// ...or at least this often.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Appends `s` with every byte that could end the quoted request or fake
/// a line written as `\xHH`: `"`, `\`, control bytes and everything
/// outside ASCII (a target may carry `"` and UTF-8, which httparse
/// accepts). What a client sends can then never pass for a field of its
/// own, as in nginx's log.
fn escape_into(out: &mut Vec<u8>, s: &str) {
    let plain = |b: u8| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\';
    if s.bytes().all(plain) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    for b in s.bytes() {
        if plain(b) {
            out.push(b);
        } else {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
}

/// An access log, one line per request:
///
/// ```text
/// 127.0.0.1:50312 "GET /users/7 HTTP/1.1" 200 13 41us
/// ```
///
/// (peer, request line, status, body bytes when known, time to the
/// response). In the target, `"`, `\`, control bytes and bytes outside
/// ASCII are written as `\xHH`, so that no request can fake a field or a
/// line of its own. Lines are formatted into a shard-local buffer, handed
/// over when 32 KiB have gathered or once a second, and written to the
/// sink on the blocking pool ([`shardio::spawn_blocking`]): the request
/// path does no I/O of its own, and a sink that blocks (a pipe nobody
/// reads) never stops the shard. While 4 MiB wait for a stuck sink, new
/// lines are dropped and counted ([`dropped_lines`](AccessLog::dropped_lines)).
pub struct AccessLog {
    inner: Rc<LogInner>,
}

struct LogInner {
    buf: RefCell<Vec<u8>>,
    sink: LogSink,
    flusher: RefCell<bool>,
}

impl AccessLog {
    /// Logs to standard error.
    pub fn stderr() -> AccessLog {
        AccessLog::to_writer(std::io::stderr())
    }

    /// Logs to `sink` (a file, a pipe, ...), written on the blocking pool.
    pub fn to_writer(sink: impl Write + Send + 'static) -> AccessLog {
        AccessLog {
            inner: Rc::new(LogInner {
                buf: RefCell::new(Vec::with_capacity(FLUSH_BYTES)),
                sink: LogSink::new(Box::new(sink)),
                flusher: RefCell::new(false),
            }),
        }
    }

    /// Writes the buffered lines to the sink now, on the calling thread,
    /// after any write the pool is making; it blocks as long as the sink
    /// does.
    pub fn flush(&self) {
        self.inner.flush_now();
    }

    /// Lines dropped because the sink fell 4 MiB behind.
    pub fn dropped_lines(&self) -> u64 {
        self.inner.sink.dropped()
    }

    fn start_flusher(&self) {
        if self.inner.flusher.replace(true) {
            return;
        }
        let weak: Weak<LogInner> = Rc::downgrade(&self.inner);
        drop(shardio::spawn(async move {
            loop {
                shardio::time::sleep(FLUSH_EVERY).await;
                match weak.upgrade() {
                    Some(inner) => inner.flush(),
                    None => return,
                }
            }
        }));
    }
}

impl LogInner {
    /// The buffered lines, leaving an empty buffer.
    fn take(&self) -> Vec<u8> {
        let mut buf = self.buf.borrow_mut();
        if buf.is_empty() {
            return Vec::new();
        }
        std::mem::replace(&mut *buf, Vec::with_capacity(FLUSH_BYTES))
    }

    /// Hands the buffered lines to the blocking pool.
    fn flush(&self) {
        let batch = self.take();
        if !batch.is_empty() {
            self.sink.send(batch);
        }
    }

    fn flush_now(&self) {
        self.sink.send_now(self.take());
    }
}

impl Drop for LogInner {
    fn drop(&mut self) {
        self.sink.send_last(self.take());
    }
}

impl fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessLog")
            .field("buffered", &self.inner.buf.borrow().len())
            .field("dropped_lines", &self.inner.sink.dropped())
            .finish()
    }
}

impl Middleware for AccessLog {
    fn call<'a>(&'a self, req: Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        self.start_flusher();
        let start = Instant::now();
        // The request part is formatted now, while the request's bytes are
        // at hand; the line goes into the shared buffer whole, once the
        // response is ready, so lines of interleaved requests never mix.
        let mut head = Vec::with_capacity(64);
        let _ = match req.peer_addr() {
            Some(peer) => write!(head, "{peer} "),
            None => write!(head, "- "),
        };
        let _ = write!(head, "\"{} ", req.method());
        escape_into(&mut head, req.path());
        if let Some(q) = req.query() {
            head.push(b'?');
            escape_into(&mut head, q);
        }
        let _ = write!(head, " HTTP/1.{}\"", req.minor_version());
        Box::pin(async move {
            let res = next.run(req).await;
            let size = res.body().len();
            let mut buf = self.inner.buf.borrow_mut();
            if !self.inner.sink.admits(buf.len()) {
                return res;
            }
            buf.extend_from_slice(&head);
            let _ = match size {
                Some(n) => write!(
                    buf,
                    " {} {n} {}us",
                    res.status(),
                    start.elapsed().as_micros()
                ),
                None => write!(buf, " {} - {}us", res.status(), start.elapsed().as_micros()),
            };
            buf.push(b'\n');
            let full = buf.len() >= FLUSH_BYTES;
            drop(buf);
            if full {
                self.inner.flush();
            }
            res
        })
    }
}

#[cfg(test)]
mod tests {
    use super::escape_into;

    fn escaped(s: &str) -> String {
        let mut out = Vec::new();
        escape_into(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quotes_backslashes_and_non_ascii_are_escaped() {
        assert_eq!(escaped("/users/7"), "/users/7");
        assert_eq!(escaped("/a\"b"), "/a\\x22b");
        assert_eq!(escaped("/a\\b"), "/a\\x5Cb");
        assert_eq!(escaped("/caf\u{e9}"), "/caf\\xC3\\xA9");
        assert_eq!(escaped("/a\tb\x7f"), "/a\\x09b\\x7F");
        assert_eq!(escaped("q=<x>&y={1}"), "q=<x>&y={1}");
    }
}
