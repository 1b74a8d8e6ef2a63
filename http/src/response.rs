//! Responses: a status, header fields and a body from bytes, a stream, or a
//! file range sent through shardio-zerocopy.

use crate::body::BodyError;
use crate::conn::{Handoff, OnUpgrade};
use crate::fields::Fields;
use crate::request::Request;
use bytes::Bytes;
use futures_util::stream::{LocalBoxStream, Stream};
use shardio_zerocopy::Strategy;
use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io;
use std::rc::Rc;

/// A header field name or value.
pub type HeaderText = Cow<'static, str>;

/// An HTTP response.
///
/// # Examples
///
/// ```
/// use shardio_http::Response;
/// let res = Response::text("hi").with_header("x-a", "b");
/// assert_eq!(res.status(), 200);
/// assert_eq!(res.header("content-type"), Some("text/plain; charset=utf-8"));
/// ```
pub struct Response {
    status: u16,
    headers: Fields,
    body: ResponseBody,
    close: bool,
    /// How a file body is sent ([`Response::set_file_strategy`]).
    file_strategy: Strategy,
}

/// What follows a response head.
pub enum ResponseBody {
    /// No body (`Content-Length: 0` where a body is allowed).
    Empty,
    /// Bytes in memory, sent with `Content-Length`.
    Bytes(Bytes),
    /// Pieces produced over time, sent chunked (or, to an HTTP/1.0 client,
    /// until the connection closes). An error ends the response early and
    /// closes the connection.
    Stream(LocalBoxStream<'static, io::Result<Bytes>>),
    /// `len` bytes of a file from `offset`, sent with `Content-Length`
    /// through the zero-copy path ([`shardio_zerocopy::send_with_head`]).
    File {
        /// The open file (shared, so a cache can keep it open).
        file: Rc<File>,
        /// The first byte.
        offset: u64,
        /// How many bytes.
        len: u64,
    },
    /// Several ranges of one file, each after a head of its own, then a
    /// tail: a `multipart/byteranges` body. Sent with `Content-Length`,
    /// each range through the zero-copy path.
    FileParts(FileParts),
    /// No body: the connection switches protocols after this `101`
    /// response ([`Response::upgrade`]).
    Upgrade(Handoff),
}

/// Ranges of one file interleaved with small heads, as one body
/// ([`ResponseBody::FileParts`]).
#[derive(Clone, Debug)]
pub struct FileParts {
    /// The open file.
    pub file: Rc<File>,
    /// Each part: the bytes that go before it, then its range.
    pub parts: Vec<FilePart>,
    /// The bytes after the last part.
    pub tail: Bytes,
}

/// One part of [`FileParts`].
#[derive(Clone, Debug)]
pub struct FilePart {
    /// Sent before the range.
    pub head: Bytes,
    /// The range's first byte.
    pub offset: u64,
    /// The range's length.
    pub len: u64,
}

impl FileParts {
    /// The body's whole length: every head, range and the tail.
    pub fn len(&self) -> u64 {
        let parts: u64 = self.parts.iter().map(|p| p.head.len() as u64 + p.len).sum();
        parts + self.tail.len() as u64
    }

    /// Whether the body has no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ResponseBody {
    /// The body's length, when it is known before it is sent (everything
    /// but a stream).
    pub fn len(&self) -> Option<u64> {
        match self {
            ResponseBody::Empty | ResponseBody::Upgrade(_) => Some(0),
            ResponseBody::Bytes(b) => Some(b.len() as u64),
            ResponseBody::File { len, .. } => Some(*len),
            ResponseBody::FileParts(p) => Some(p.len()),
            ResponseBody::Stream(_) => None,
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseBody::Empty => f.write_str("Empty"),
            ResponseBody::Bytes(b) => write!(f, "Bytes({})", b.len()),
            ResponseBody::Stream(_) => f.write_str("Stream"),
            ResponseBody::File { offset, len, .. } => write!(f, "File({offset}+{len})"),
            ResponseBody::FileParts(p) => write!(f, "FileParts({} parts)", p.parts.len()),
            ResponseBody::Upgrade(_) => f.write_str("Upgrade"),
        }
    }
}

impl Response {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Fields::default(),
            body: ResponseBody::Empty,
            close: false,
            file_strategy: Strategy::Auto,
        }
    }

    /// `200` with a body and a content type.
    pub fn with_body(content_type: &'static str, body: impl Into<Bytes>) -> Response {
        Response {
            status: 200,
            headers: Fields::with_content_type(Cow::Borrowed(content_type)),
            body: ResponseBody::Bytes(body.into()),
            close: false,
            file_strategy: Strategy::Auto,
        }
    }

    /// `200` with a body and one of this crate's content types, which
    /// need no check.
    fn with_known_body(content_type: &'static str, body: Bytes) -> Response {
        Response {
            status: 200,
            headers: Fields::with_known_content_type(content_type),
            body: ResponseBody::Bytes(body),
            close: false,
            file_strategy: Strategy::Auto,
        }
    }

    /// `200`, `text/plain; charset=utf-8`.
    pub fn text(body: impl Into<Bytes>) -> Response {
        Response::with_known_body("text/plain; charset=utf-8", body.into())
    }

    /// `200`, `text/html; charset=utf-8`.
    pub fn html(body: impl Into<Bytes>) -> Response {
        Response::with_known_body("text/html; charset=utf-8", body.into())
    }

    /// `200`, `application/json`, with `body` already serialized.
    pub fn json(body: impl Into<Bytes>) -> Response {
        Response::with_known_body("application/json", body.into())
    }

    /// `200` with a streamed body.
    pub fn stream(stream: impl Stream<Item = io::Result<Bytes>> + 'static) -> Response {
        let mut res = Response::new(200);
        res.body = ResponseBody::Stream(Box::pin(stream));
        res
    }

    /// `200` with `len` bytes of `file` from `offset`, sent without copying
    /// them through user space.
    pub fn file(file: Rc<File>, offset: u64, len: u64) -> Response {
        let mut res = Response::new(200);
        res.body = ResponseBody::File { file, offset, len };
        res
    }

    /// A `101 Switching Protocols` response to `req` that switches its
    /// connection to `protocol` (the `Upgrade` field; `Connection: upgrade`
    /// is added), and the future of the connection once the response is
    /// sent (RFC 9110 §7.8).
    ///
    /// Only a request that asks to switch can be
    /// ([`Request::upgrade`](crate::Request::upgrade) says which protocols
    /// it offers); to any other the server sends `500` instead, and the
    /// future fails. A request's body, if it has one, is read or
    /// skipped before the switch. Middleware may add fields to the `101`
    /// but must keep its body; a response that replaces it cancels the
    /// switch.
    ///
    /// ```
    /// use shardio_http::{Request, Response, Router};
    ///
    /// // An echo protocol: each byte the client sends comes back.
    /// let router = Router::new().get("/echo", |req: Request| async move {
    ///     if !req.upgrade().is_some_and(|p| p.eq_ignore_ascii_case("echo")) {
    ///         return Response::error(426).with_header("upgrade", "echo");
    ///     }
    ///     let (res, on_upgrade) = Response::upgrade(&req, "echo");
    ///     shardio::spawn_detached(async move {
    ///         let Ok(mut conn) = on_upgrade.await else { return };
    ///         while let Ok(Some(chunk)) = conn.read().await {
    ///             // The received bytes go back out as they are, no copy.
    ///             if conn.write_all(chunk).await.0.is_err() {
    ///                 break;
    ///             }
    ///         }
    ///     });
    ///     res
    /// });
    /// # drop(router);
    /// ```
    pub fn upgrade(req: &Request, protocol: impl Into<HeaderText>) -> (Response, OnUpgrade) {
        let (handoff, on_upgrade) = crate::conn::handoff(req.upgrade().is_some());
        let mut res = Response::new(101).with_header("upgrade", protocol);
        res.body = ResponseBody::Upgrade(handoff);
        (res, on_upgrade)
    }

    /// A small `text/plain` response for an error status, its reason phrase
    /// as the body.
    pub fn error(status: u16) -> Response {
        let reason = crate::status::reason(status);
        let mut res = Response::text(Bytes::from_static(reason.as_bytes()));
        res.status = status;
        res
    }

    /// The status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Sets the status.
    pub fn set_status(&mut self, status: u16) {
        self.status = status;
    }

    /// Returns the response with `status`.
    pub fn with_status(mut self, status: u16) -> Response {
        self.status = status;
        self
    }

    /// Appends a header field. Names are written as given (lowercase is
    /// conventional). A name or value that could split the response (CR,
    /// LF, NUL; a name that is not a token) turns the response into a
    /// `500` when it is written. `Content-Length`, `Transfer-Encoding`,
    /// `Date` and `Connection` are set by the server and ignored here.
    /// The first `Content-Type` is written before the other fields.
    pub fn add_header(&mut self, name: impl Into<HeaderText>, value: impl Into<HeaderText>) {
        self.headers.add(name.into(), value.into());
    }

    /// Replaces every field named `name` with one field.
    pub fn set_header(&mut self, name: impl Into<HeaderText>, value: impl Into<HeaderText>) {
        let name = name.into();
        self.remove_header(&name);
        self.headers.add(name, value.into());
    }

    /// Removes every field named `name`.
    pub fn remove_header(&mut self, name: &str) {
        self.headers.remove(name);
    }

    /// Returns the response with a header field appended.
    pub fn with_header(
        mut self,
        name: impl Into<HeaderText>,
        value: impl Into<HeaderText>,
    ) -> Response {
        self.add_header(name, value);
        self
    }

    /// The first field named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// Every header field: the first `Content-Type` (whatever its place
    /// when added), then the others in the order they were added. This is
    /// also the order on the wire.
    ///
    /// ```
    /// use shardio_http::Response;
    /// let res = Response::text("hi").with_header("x-a", "1");
    /// let fields: Vec<_> = res.headers().collect();
    /// assert_eq!(fields, [("content-type", "text/plain; charset=utf-8"), ("x-a", "1")]);
    /// ```
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter()
    }

    /// The body.
    pub fn body(&self) -> &ResponseBody {
        &self.body
    }

    /// Replaces the body.
    pub fn set_body(&mut self, body: ResponseBody) {
        self.body = body;
    }

    /// Takes the body out, leaving [`ResponseBody::Empty`].
    pub fn take_body(&mut self) -> ResponseBody {
        std::mem::replace(&mut self.body, ResponseBody::Empty)
    }

    /// Closes the connection after this response (`Connection: close`).
    pub fn close_connection(&mut self) {
        self.close = true;
    }

    /// Whether the connection closes after this response.
    pub fn closes_connection(&self) -> bool {
        self.close
    }

    /// Sends a file body ([`ResponseBody::File`] or
    /// [`ResponseBody::FileParts`]) with `strategy` rather than
    /// [`Strategy::Auto`]. [`Strategy::Copy`] suits a file that is not in
    /// the page cache: its missing pages are read through the ring, where
    /// `sendfile(2)` would wait for the disk on the shard's thread.
    /// [`StaticFiles`](crate::StaticFiles) chooses it for such files
    /// itself ([`shardio_zerocopy::residency`]).
    ///
    /// ```
    /// use shardio_http::Response;
    /// use shardio_zerocopy::Strategy;
    ///
    /// let file = std::rc::Rc::new(std::fs::File::open("/dev/null")?);
    /// let mut res = Response::file(file, 0, 0);
    /// assert_eq!(res.file_strategy(), Strategy::Auto);
    /// res.set_file_strategy(Strategy::Copy);
    /// assert_eq!(res.file_strategy(), Strategy::Copy);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_file_strategy(&mut self, strategy: Strategy) {
        self.file_strategy = strategy;
    }

    /// How a file body will be sent ([`Strategy::Auto`] unless set).
    pub fn file_strategy(&self) -> Strategy {
        self.file_strategy
    }

    pub(crate) fn fields(&self) -> &Fields {
        &self.headers
    }

    /// Makes the response safe to write: one with a field that could
    /// split it (see [`Fields::writable`]) becomes a `500` that closes the
    /// connection, and is never written as it was.
    #[inline]
    pub(crate) fn make_writable(&mut self) {
        // A `101` is only ever the answer that hands the connection over.
        // (A handoff with another status is refused when it is switched.)
        let bare_101 = self.status == 101 && !matches!(self.body, ResponseBody::Upgrade(_));
        if !self.headers.writable() || bare_101 {
            *self = Response::error(500);
            self.close_connection();
        }
    }

    pub(crate) fn into_parts(self) -> (u16, Fields, ResponseBody, Strategy) {
        (self.status, self.headers, self.body, self.file_strategy)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &self.body)
            .finish()
    }
}

/// Anything a handler may return.
pub trait IntoResponse {
    /// Makes the response.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        Response::text(Bytes::from_static(self.as_bytes()))
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::text(self)
    }
}

impl IntoResponse for Vec<u8> {
    fn into_response(self) -> Response {
        Response::with_body("application/octet-stream", self)
    }
}

impl IntoResponse for Bytes {
    fn into_response(self) -> Response {
        Response::with_body("application/octet-stream", self)
    }
}

impl IntoResponse for () {
    fn into_response(self) -> Response {
        Response::new(204)
    }
}

impl IntoResponse for u16 {
    fn into_response(self) -> Response {
        Response::error(self)
    }
}

impl<T: IntoResponse> IntoResponse for (u16, T) {
    fn into_response(self) -> Response {
        self.1.into_response().with_status(self.0)
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(t) => t.into_response(),
            Err(e) => e.into_response(),
        }
    }
}

impl IntoResponse for BodyError {
    fn into_response(self) -> Response {
        let mut res = Response::error(self.status());
        res.close_connection();
        res
    }
}
