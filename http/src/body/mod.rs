//! Request bodies, streamed to the handler as they arrive.

pub(crate) mod chunked;
mod trailers;

pub use trailers::Trailers;

use crate::conn::Conn;
use crate::storage::Chunk;
use chunked::Kept;
use std::fmt;
use std::rc::Rc;

/// A request body: read it piece by piece with [`chunk`](Body::chunk), or
/// whole with [`collect`](Body::collect).
///
/// Bytes come straight from the connection's receive buffers. A request
/// that said `Expect: 100-continue` gets its `100 Continue` only when the
/// handler first reads the body, so a handler that refuses the request
/// without reading spares the client the upload.
///
/// A body that the handler did not finish is skipped after the response
/// when it is small ([`Limits::max_body_drain`](crate::Limits)); otherwise
/// the connection closes. A body is tied to its request: reading it after
/// the response was sent fails.
pub struct Body {
    inner: Inner,
}

enum Inner {
    Empty,
    /// A body already in memory (requests built by [`Request::parse`](crate::Request::parse)).
    Full(Option<Chunk>),
    Conn {
        conn: Rc<Conn>,
        /// Which request of the connection this body belongs to.
        generation: u32,
        /// A read returned the end of the body.
        ended: bool,
        length: Option<u64>,
        /// A chunked body's trailer field lines, as they arrive.
        trailers: Kept,
    },
}

impl Body {
    pub(crate) fn empty() -> Body {
        Body {
            inner: Inner::Empty,
        }
    }

    /// Empties the body; a request without one (most) costs a check.
    #[inline]
    pub(crate) fn clear(&mut self) {
        if !matches!(self.inner, Inner::Empty) {
            self.inner = Inner::Empty;
        }
    }

    pub(crate) fn full(chunk: Chunk) -> Body {
        let inner = if chunk.is_empty() {
            Inner::Empty
        } else {
            Inner::Full(Some(chunk))
        };
        Body { inner }
    }

    pub(crate) fn streaming(conn: Rc<Conn>, generation: u32, length: Option<u64>) -> Body {
        Body {
            inner: Inner::Conn {
                conn,
                generation,
                ended: false,
                length,
                trailers: None,
            },
        }
    }

    /// The declared length (`Content-Length`), `Some(0)` for no body, `None`
    /// for a chunked body.
    pub fn content_length(&self) -> Option<u64> {
        match &self.inner {
            Inner::Empty => Some(0),
            Inner::Full(c) => Some(c.as_ref().map_or(0, |c| c.len() as u64)),
            Inner::Conn { length, .. } => *length,
        }
    }

    /// Lowers the most bytes this body may have; reading past it fails with
    /// an error whose status is `413`. (The server's own limit,
    /// [`Limits::max_body`](crate::Limits), always applies.)
    pub fn set_limit(&mut self, limit: u64) {
        if let Inner::Conn {
            conn, generation, ..
        } = &self.inner
        {
            conn.lower_body_limit(*generation, limit);
        }
    }

    /// The next piece of the body, or `None` at its end.
    ///
    /// # Errors
    ///
    /// The body is over its limit (`413`), malformed (`400`), did not go on
    /// in time (`408`), the connection failed or closed early, or the
    /// response for its request was already sent. After an error the
    /// connection closes once the response is sent.
    ///
    /// # Cancel safety
    ///
    /// With [`Receive::Multishot`](crate::Receive::Multishot) a read
    /// dropped before it completes (a `select!` branch that lost) loses
    /// nothing: the next read goes on from the same place; so too under
    /// [`Receive::Adaptive`](crate::Receive::Adaptive) once the connection
    /// receives by its multishot receive (from its third request until it
    /// idles). With the default receive per wait, a read dropped while it
    /// waits for bytes fails the body, since what the kernel had received for it is gone:
    /// later reads give an error (`500`), and the connection closes after
    /// the response rather than read the next request as body. In either
    /// mode, a read dropped while it sends `100 Continue` also ends the
    /// connection's sending there: the send may have gone out in part,
    /// and no response may follow a cut one.
    pub async fn chunk(&mut self) -> Result<Option<Chunk>, BodyError> {
        match &mut self.inner {
            Inner::Empty => Ok(None),
            Inner::Full(c) => Ok(c.take()),
            Inner::Conn {
                conn,
                generation,
                ended,
                trailers,
                ..
            } => {
                let read = conn.read_body(*generation, Some(trailers)).await;
                *ended |= matches!(read, Ok(None));
                read
            }
        }
    }

    /// The trailer fields that followed a chunked body's last chunk (RFC
    /// 9112 §7.1.2), once [`chunk`](Body::chunk) has returned `None`.
    /// `None` before that, and for a body that had none: a sized body, or
    /// a chunked one whose last chunk was followed by no field. They live
    /// as long as the body: read with `chunk`, not
    /// [`collect`](Body::collect), to see them.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use shardio_http::{BodyError, Request, Response};
    ///
    /// /// Counts the body's bytes and answers with its `Checksum` trailer.
    /// async fn upload(mut req: Request) -> Result<Response, BodyError> {
    ///     let body = req.body_mut();
    ///     let mut n = 0;
    ///     while let Some(chunk) = body.chunk().await? {
    ///         n += chunk.len();
    ///     }
    ///     let sum = body.trailers().and_then(|t| t.get("checksum"));
    ///     let sum = String::from_utf8_lossy(sum.unwrap_or(b"none"));
    ///     Ok(Response::text(format!("{n} bytes, checksum {sum}")))
    /// }
    /// ```
    pub fn trailers(&self) -> Option<Trailers<'_>> {
        match &self.inner {
            Inner::Conn {
                ended: true,
                trailers: Some(lines),
                ..
            } => Some(Trailers::new(lines)),
            _ => None,
        }
    }

    /// Reads the whole body into one buffer.
    ///
    /// # Errors
    ///
    /// As for [`chunk`](Body::chunk).
    pub async fn collect(mut self) -> Result<Vec<u8>, BodyError> {
        let mut out = Vec::with_capacity(self.content_length().unwrap_or(0).min(1 << 20) as usize);
        while let Some(c) = self.chunk().await? {
            out.extend_from_slice(&c);
        }
        Ok(out)
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Body")
            .field("content_length", &self.content_length())
            .finish()
    }
}

/// Why a body could not be read. Returned from a handler (it is an
/// [`IntoResponse`](crate::IntoResponse)), it becomes a small response with
/// the status from [`status`](BodyError::status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyError {
    kind: BodyErrorKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyErrorKind {
    TooLarge,
    Malformed(&'static str),
    Timeout,
    /// The peer closed before the body ended, or the socket failed.
    Incomplete,
    /// The response for this body's request was already sent.
    Detached,
    /// An earlier read was dropped while it received, taking bytes with it.
    Dropped,
}

impl BodyError {
    pub(crate) fn new(kind: BodyErrorKind) -> BodyError {
        BodyError { kind }
    }

    /// The status that answers this error: 413, 400, 408, 400 for a body
    /// cut short, or 500 for a read after the response, or after an earlier
    /// read was dropped while it received.
    pub fn status(&self) -> u16 {
        match self.kind {
            BodyErrorKind::TooLarge => 413,
            BodyErrorKind::Timeout => 408,
            BodyErrorKind::Detached | BodyErrorKind::Dropped => 500,
            BodyErrorKind::Malformed(_) | BodyErrorKind::Incomplete => 400,
        }
    }

    /// The body is larger than its limit.
    pub fn is_too_large(&self) -> bool {
        self.kind == BodyErrorKind::TooLarge
    }

    /// The client stopped sending for longer than the body-read timeout.
    pub fn is_timeout(&self) -> bool {
        self.kind == BodyErrorKind::Timeout
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            BodyErrorKind::TooLarge => f.write_str("request body too large"),
            BodyErrorKind::Malformed(why) => write!(f, "malformed request body: {why}"),
            BodyErrorKind::Timeout => f.write_str("request body timed out"),
            BodyErrorKind::Incomplete => f.write_str("request body cut short"),
            BodyErrorKind::Detached => f.write_str("request body read after the response"),
            BodyErrorKind::Dropped => {
                f.write_str("an earlier read of the request body was dropped mid-receive")
            }
        }
    }
}

impl std::error::Error for BodyError {}
