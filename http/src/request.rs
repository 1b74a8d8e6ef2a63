//! Requests as handlers see them: the head resolved lazily from offsets
//! into the receive buffer, route parameters, the body stream, and
//! per-request extensions.

use crate::body::Body;
use crate::config::Limits;
use crate::drain::Draining;
use crate::method::Method;
use crate::parse::{self, Framing, Line, Parsed, Span};
use crate::server::Shared;
use crate::storage::{Chunk, Storage};
use percent_encoding::percent_decode_str;
use shardio::pool::LocalPooled;
use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;
use std::rc::{Rc, Weak};

/// An HTTP request.
///
/// The method, path, query and headers point into the bytes the connection
/// received; nothing of the head is copied. A request is one pointer
/// wide (to its pooled state, which also knows the pool it goes back to):
/// its state lives in a per-server pool, so passing it down the
/// middleware chain to a handler moves no more than that, and its vectors
/// keep their capacity from one request to the next.
pub struct Request {
    parts: LocalPooled<Parts>,
}

/// What a [`Request`] holds. Cleared when the request drops, so that a
/// pooled `Parts` keeps no receive buffer, body or state alive.
pub(crate) struct Parts {
    /// `Some` while a request uses these parts.
    buf: Option<Rc<Storage>>,
    /// The request line and header fields, written by [`parse::parse`].
    pub(crate) line: Line,
    params: Params,
    body: Body,
    peer: Option<SocketAddr>,
    state: Option<Rc<dyn Any>>,
    extensions: Extensions,
    /// The server whose pool these parts are from; none outside a server.
    server: Option<Weak<Shared>>,
}

/// Header vectors grown past this many fields are not kept for reuse.
const KEEP_HEADERS_MAX: usize = 64;

impl Parts {
    pub(crate) fn new() -> Parts {
        Parts::with_server(None)
    }

    /// Parts for the requests of `server`.
    pub(crate) fn in_server(server: Weak<Shared>) -> Parts {
        Parts::with_server(Some(server))
    }

    fn with_server(server: Option<Weak<Shared>>) -> Parts {
        Parts {
            buf: None,
            line: Line::default(),
            params: Params::default(),
            body: Body::empty(),
            peer: None,
            state: None,
            extensions: Extensions::default(),
            server,
        }
    }

    /// Drops what the last request held, keeping the vectors' capacity.
    fn clear(&mut self) {
        self.buf = None;
        self.body.clear();
        self.state = None;
        self.params.names = None;
        self.params.values.clear();
        // Most requests carry none: no out-of-line drop of an empty slice.
        if !self.extensions.values.is_empty() {
            self.extensions.values.clear();
        }
        let headers = &mut self.line.headers;
        headers.clear();
        if headers.capacity() > KEEP_HEADERS_MAX {
            *headers = Vec::new();
        }
    }
}

impl Drop for Request {
    // Inlined into the handler future's drop, which runs once per request.
    #[inline]
    fn drop(&mut self) {
        self.parts.clear();
    }
}

/// Route parameters: names from the route pattern, values as offsets.
#[derive(Default)]
pub(crate) struct Params {
    pub(crate) names: Option<Rc<[Box<str>]>>,
    pub(crate) values: Vec<Span>,
}

/// Why [`Request::parse`] refused its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseError {
    status: u16,
    reason: &'static str,
}

impl ParseError {
    /// The status a server answers this request with (400, 413, 414, 431,
    /// 501, 505, ...; 0 when the head was incomplete).
    pub fn status(&self) -> u16 {
        self.status
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason, self.status)
    }
}

impl std::error::Error for ParseError {}

impl Request {
    /// The request whose head [`parse::parse`] put into `parts`, with the
    /// receive buffer its offsets point into, and no body (parts are
    /// cleared to an empty one; [`set_body`](Request::set_body) gives one).
    pub(crate) fn new(
        mut parts: LocalPooled<Parts>,
        buf: Rc<Storage>,
        peer: Option<SocketAddr>,
    ) -> Request {
        let p = &mut *parts;
        p.buf = Some(buf);
        p.peer = peer;
        Request { parts }
    }

    /// Gives the request its body. Apart from [`new`](Request::new), so
    /// that a request without one (most) does not pass an empty body
    /// through memory only to copy it over the empty body its parts hold.
    pub(crate) fn set_body(&mut self, body: Body) {
        self.parts.body = body;
    }

    /// Parses one whole request from `bytes` — head and (sized) body — with
    /// the default [`Limits`]: for tests, benches and tools that have a
    /// request in memory. The server itself streams bodies from the socket.
    ///
    /// # Errors
    ///
    /// The request is malformed or incomplete, or its body is chunked.
    ///
    /// # Examples
    ///
    /// ```
    /// let req = shardio_http::Request::parse(b"GET /a?b=c HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    /// assert_eq!(req.path(), "/a");
    /// assert_eq!(req.query(), Some("b=c"));
    /// assert_eq!(req.header("host"), Some("x"));
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<Request, ParseError> {
        let buf = Rc::new(Storage::Heap(bytes.into()));
        let mut parts = LocalPooled::unpooled(Parts::new());
        let head = match parse::parse(&buf, 0, &Limits::default(), &mut parts.line) {
            Parsed::Complete => parts.line.head,
            Parsed::Partial => {
                return Err(ParseError {
                    status: 0,
                    reason: "incomplete request head",
                })
            }
            Parsed::Invalid(r) => {
                return Err(ParseError {
                    status: r.status,
                    reason: r.reason,
                })
            }
        };
        let body = match head.framing {
            Framing::None => Body::empty(),
            Framing::Length(n) if head.len as u64 + n <= buf.len() as u64 => {
                Body::full(Chunk::new(buf.clone(), head.len, head.len + n as usize))
            }
            Framing::Length(_) | Framing::Chunked => {
                return Err(ParseError {
                    status: 400,
                    reason: "body incomplete or chunked",
                })
            }
        };
        let mut req = Request::new(parts, buf.clone(), None);
        req.set_body(body);
        Ok(req)
    }

    /// The bytes at `span` of the received buffer.
    fn bytes_at(&self, (start, end): Span) -> &[u8] {
        let buf = self.parts.buf.as_deref().map_or(&[][..], |b| &b[..]);
        &buf[start as usize..end as usize]
    }

    fn str_at(&self, span: Span) -> &str {
        // The head was validated by httparse: targets and header names are
        // ASCII, so this never fails.
        std::str::from_utf8(self.bytes_at(span)).unwrap_or_default()
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.parts.line.method
    }

    /// `0` for HTTP/1.0, `1` for HTTP/1.1. A later HTTP/1.x (`HTTP/1.2`
    /// to `HTTP/1.9`) is read as HTTP/1.1 (RFC 9110 §2.5), and says `1`.
    pub fn minor_version(&self) -> u8 {
        self.parts.line.minor
    }

    /// The path of the request target, without the query, as sent (not
    /// percent-decoded). `*` for `OPTIONS *`.
    pub fn path(&self) -> &str {
        match self.str_at(self.parts.line.path) {
            // An absolute-form target without a path (`http://host`).
            "" => "/",
            path => path,
        }
    }

    /// [`path`](Request::path) as bytes, without the UTF-8 check.
    pub(crate) fn path_bytes(&self) -> &[u8] {
        match self.bytes_at(self.parts.line.path) {
            b"" => b"/",
            path => path,
        }
    }

    /// The query string after `?`, as sent (not decoded).
    pub fn query(&self) -> Option<&str> {
        self.parts.line.query.map(|q| self.str_at(q))
    }

    /// The value of the first query parameter named `name`, decoded as a
    /// form (`application/x-www-form-urlencoded`): `+` is a space and
    /// `%XX` a byte; bytes that are not UTF-8 once decoded become U+FFFD.
    /// Names are compared decoded. A parameter without `=` has an empty
    /// value.
    ///
    /// ```
    /// use shardio_http::Request;
    ///
    /// let req = Request::parse(b"GET /search?q=caf%C3%A9+au+lait&page=2 HTTP/1.1\r\nHost: x\r\n\r\n")?;
    /// assert_eq!(req.query_param("q").as_deref(), Some("café au lait"));
    /// assert_eq!(req.query_param("page").as_deref(), Some("2"));
    /// assert_eq!(req.query_param("sort"), None);
    /// # Ok::<(), shardio_http::ParseError>(())
    /// ```
    pub fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Every query parameter, in order, names and values decoded as in
    /// [`query_param`](Request::query_param). Empty pairs (`a=1&&b=2`) are
    /// skipped; a repeated name comes as often as it was sent.
    pub fn query_pairs(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> + '_ {
        form_urlencoded::parse(self.query().unwrap_or_default().as_bytes())
    }

    /// The host the request is for, `host` or `host:port`: the authority of
    /// an absolute-form target (`GET http://example.com/ HTTP/1.1`), which
    /// wins over the `Host` field (RFC 9112 §3.2.2), otherwise the `Host`
    /// field. Both were checked to be a valid host when the head was
    /// parsed (a request with a malformed one got a `400`). `None` when
    /// neither was sent or `Host` is empty.
    ///
    /// ```
    /// use shardio_http::Request;
    ///
    /// let req = Request::parse(b"GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n")?;
    /// assert_eq!(req.host(), Some("example.com:8080"));
    /// let req = Request::parse(b"GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n")?;
    /// assert_eq!(req.host(), Some("a.example"));
    /// # Ok::<(), shardio_http::ParseError>(())
    /// ```
    pub fn host(&self) -> Option<&str> {
        let host = match self.parts.line.authority {
            Some(authority) => self.str_at(authority),
            None => self.header("host")?,
        };
        (!host.is_empty()).then_some(host)
    }

    /// The protocols the client asks to switch to, its `Upgrade` value
    /// (`websocket`, say), when the request asks for a switch: HTTP/1.1
    /// with `upgrade` among its `Connection` options (RFC 9110 §7.8).
    /// Looked up when called: requests that never ask cost nothing.
    /// Answer with [`Response::upgrade`](crate::Response::upgrade) to
    /// switch, or with anything else not to.
    ///
    /// ```
    /// use shardio_http::Request;
    ///
    /// let asks = b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
    /// assert_eq!(Request::parse(asks)?.upgrade(), Some("websocket"));
    /// let no_option = b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n";
    /// assert_eq!(Request::parse(no_option)?.upgrade(), None);
    /// # Ok::<(), shardio_http::ParseError>(())
    /// ```
    pub fn upgrade(&self) -> Option<&str> {
        if self.minor_version() != 1 {
            return None;
        }
        let asks = self
            .headers()
            .filter(|(name, _)| name.eq_ignore_ascii_case("connection"))
            .flat_map(|(_, value)| value.split(|&b| b == b','))
            .any(|option| option.trim_ascii().eq_ignore_ascii_case(b"upgrade"));
        let protocols = self.header("upgrade").map(str::trim);
        protocols.filter(|p| asks && !p.is_empty())
    }

    /// The first header field named `name` (case-insensitive), if its value
    /// is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        std::str::from_utf8(self.header_bytes(name)?).ok()
    }

    /// The first header field named `name` (case-insensitive), as bytes.
    pub fn header_bytes(&self, name: &str) -> Option<&[u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every header field, in order, names as sent.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.parts
            .line
            .headers
            .iter()
            .map(|&(n, v)| (self.str_at(n), self.bytes_at(v)))
    }

    /// The route parameter `name` (`:name` or `*name` in the pattern),
    /// percent-decoded: `%20` is a space, `%2F` a slash (which the router
    /// matched as part of the parameter, not as a separator), and `+`
    /// stays `+`. Bytes that are not UTF-8 once decoded become U+FFFD;
    /// [`param_raw`](Request::param_raw) gives the value as sent.
    ///
    /// A value without `%` is borrowed from the receive buffer, not copied.
    pub fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.param_raw(name)
            .map(|v| percent_decode_str(v).decode_utf8_lossy())
    }

    /// The route parameter `name` as sent, not percent-decoded.
    pub fn param_raw(&self, name: &str) -> Option<&str> {
        let names = self.parts.params.names.as_ref()?;
        let i = names.iter().position(|n| &**n == name)?;
        self.parts.params.values.get(i).map(|&s| self.str_at(s))
    }

    /// The request's vector of parameter spans, emptied and taken out
    /// (its capacity with it) for the router to fill and
    /// [give back](Request::set_params).
    pub(crate) fn take_param_spans(&mut self) -> Vec<Span> {
        let mut values = std::mem::take(&mut self.parts.params.values);
        values.clear();
        values
    }

    /// The route's parameter names (`None`: it has none) and their spans
    /// in the received buffer, in the same order.
    pub(crate) fn set_params(&mut self, names: Option<Rc<[Box<str>]>>, values: Vec<Span>) {
        let params = &mut self.parts.params;
        params.names = names;
        params.values = values;
    }

    /// Forgets route parameters that a router gave the request before (a
    /// request a handler passed on to a second router); nothing to do for
    /// one fresh from the parser, whose pooled parts were cleared.
    pub(crate) fn clear_params(&mut self) {
        let params = &mut self.parts.params;
        if params.names.is_some() || !params.values.is_empty() {
            params.names = None;
            params.values.clear();
        }
    }

    pub(crate) fn path_span(&self) -> Span {
        self.parts.line.path
    }

    /// The body.
    pub fn body_mut(&mut self) -> &mut Body {
        &mut self.parts.body
    }

    /// Takes the body out, leaving an empty one.
    pub fn take_body(&mut self) -> Body {
        std::mem::replace(&mut self.parts.body, Body::empty())
    }

    /// The client's address (`None` for a parsed request).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.parts.peer
    }

    /// Completes when the server that received this request begins a
    /// graceful shutdown (at once if it has). It borrows nothing, so a
    /// streamed response that would not end by itself (server-sent
    /// events, say) can end on it, and the drain need not wait out its
    /// grace period. Once the server has ended it completes at once;
    /// outside a server ([`Request::parse`]) it never completes.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use shardio_http::{Request, Response};
    /// use std::time::Duration;
    ///
    /// async fn events(req: Request) -> Response {
    ///     let ticks = futures_util::stream::unfold(0u64, |n| async move {
    ///         shardio::time::sleep(Duration::from_secs(1)).await;
    ///         Some((Ok(format!("data: {n}\n\n").into()), n + 1))
    ///     });
    ///     Response::stream(ticks.take_until(req.draining()))
    ///         .with_header("content-type", "text/event-stream")
    /// }
    /// ```
    pub fn draining(&self) -> Draining {
        Draining::of_request(self.parts.server.as_ref())
    }

    /// The shard-local state given to [`Router::state`](crate::Router::state),
    /// if it is a `T`.
    pub fn state<T: 'static>(&self) -> Option<&T> {
        self.parts.state.as_ref()?.downcast_ref()
    }

    pub(crate) fn set_state(&mut self, state: Option<Rc<dyn Any>>) {
        self.parts.state = state;
    }

    /// Values that middleware attached to this request.
    pub fn extensions(&self) -> &Extensions {
        &self.parts.extensions
    }

    /// Values that middleware attached to this request.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.parts.extensions
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.parts.line.method)
            .field("path", &self.path())
            .field("query", &self.query())
            .field("minor_version", &self.parts.line.minor)
            .finish_non_exhaustive()
    }
}

/// A small map from type to value, for middleware to hand data to
/// handlers (the request id, for one). Empty until used; no allocation.
#[derive(Default)]
pub struct Extensions {
    values: Vec<Box<dyn Any>>,
}

impl Extensions {
    /// Stores `value`, replacing any earlier value of its type.
    pub fn insert<T: 'static>(&mut self, value: T) {
        match self.values.iter_mut().find(|v| v.is::<T>()) {
            Some(slot) => *slot = Box::new(value),
            None => self.values.push(Box::new(value)),
        }
    }

    /// The value of type `T`, if one was stored.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.values.iter().find_map(|v| v.downcast_ref())
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &self.values.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shardio::pool::Pool;

    /// A request's pooled parts must not keep its receive buffer (a
    /// provided buffer of the ring, in the server), its body or its state
    /// alive once the request is gone, but keep their vectors' capacity.
    #[test]
    fn dropped_request_leaves_parts_empty() {
        let bytes = b"GET /a/b?q HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n";
        let pool = Pool::builder(Parts::new).capacity(1).build_local();
        let buf = Rc::new(Storage::Heap(bytes.as_slice().into()));
        let mut parts = pool.get().unwrap();
        let Parsed::Complete = parse::parse(&buf, 0, &Limits::default(), &mut parts.line) else {
            panic!("not parsed");
        };
        let state: Rc<dyn Any> = Rc::new(5u32);
        let mut req = Request::new(parts, buf.clone(), None);
        req.set_params(Some(Rc::from(vec![Box::from("p")])), vec![(5, 6)]);
        req.set_state(Some(state.clone()));
        req.extensions_mut().insert(7u8);
        assert_eq!((req.path(), req.query()), ("/a/b", Some("q")));
        assert_eq!(req.header("x-a"), Some("1"));
        assert_eq!(
            (req.param("p").as_deref(), req.param_raw("p")),
            (Some("a"), Some("a"))
        );
        assert_eq!(Rc::strong_count(&buf), 2);
        drop(req);
        assert_eq!(Rc::strong_count(&buf), 1, "the receive buffer is released");
        assert_eq!(Rc::strong_count(&state), 1, "the state is released");

        let parts = pool.get().unwrap();
        assert!(parts.buf.is_none() && parts.state.is_none());
        assert!(parts.params.names.is_none() && parts.params.values.is_empty());
        assert!(parts.extensions.values.is_empty() && parts.line.headers.is_empty());
        assert!(
            parts.line.headers.capacity() >= 2,
            "capacity is kept for reuse"
        );
    }
}
