//! Requests as handlers see them: the head resolved lazily from offsets
//! into the receive buffer, route parameters, the body stream, and
//! per-request extensions.

use crate::body::Body;
use crate::config::Limits;
use crate::method::Method;
use crate::parse::{self, Framing, Head, Parsed, Span};
use crate::storage::{Chunk, Storage};
use std::any::Any;
use std::fmt;
use std::net::SocketAddr;
use std::rc::Rc;

/// An HTTP request.
///
/// The method, path, query and headers point into the bytes the connection
/// received; nothing of the head is copied.
pub struct Request {
    buf: Rc<Storage>,
    method: Method,
    minor: u8,
    path: Span,
    query: Option<Span>,
    headers: Vec<(Span, Span)>,
    params: Params,
    body: Body,
    peer: Option<SocketAddr>,
    state: Option<Rc<dyn Any>>,
    extensions: Extensions,
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
    pub(crate) fn from_head(
        buf: Rc<Storage>,
        head: Head,
        body: Body,
        peer: Option<SocketAddr>,
    ) -> Request {
        Request {
            buf,
            method: head.method,
            minor: head.minor,
            path: head.path,
            query: head.query,
            headers: head.headers,
            params: Params::default(),
            body,
            peer,
            state: None,
            extensions: Extensions::default(),
        }
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
        let head = match parse::parse(&buf, 0, &Limits::default()) {
            Parsed::Complete(head) => head,
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
        Ok(Request::from_head(buf.clone(), head, body, None))
    }

    fn str_at(&self, (start, end): Span) -> &str {
        // The head was validated by httparse: targets and header names are
        // ASCII, so this never fails.
        std::str::from_utf8(&self.buf[start as usize..end as usize]).unwrap_or_default()
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// `0` for HTTP/1.0, `1` for HTTP/1.1.
    pub fn minor_version(&self) -> u8 {
        self.minor
    }

    /// The path of the request target, without the query, as sent (not
    /// percent-decoded). `*` for `OPTIONS *`.
    pub fn path(&self) -> &str {
        match self.str_at(self.path) {
            // An absolute-form target without a path (`http://host`).
            "" => "/",
            path => path,
        }
    }

    /// The query string after `?`, as sent.
    pub fn query(&self) -> Option<&str> {
        self.query.map(|q| self.str_at(q))
    }

    /// The value of query parameter `name` (the first one), as sent.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query()?.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then_some(v)
        })
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
        self.headers
            .iter()
            .map(|&(n, (vs, ve))| (self.str_at(n), &self.buf[vs as usize..ve as usize]))
    }

    /// The route parameter `name` (`:name` or `*name` in the pattern), as
    /// sent (not percent-decoded).
    pub fn param(&self, name: &str) -> Option<&str> {
        let names = self.params.names.as_ref()?;
        let i = names.iter().position(|n| &**n == name)?;
        self.params.values.get(i).map(|&s| self.str_at(s))
    }

    pub(crate) fn set_params(&mut self, names: Rc<[Box<str>]>, values: Vec<Span>) {
        self.params = Params {
            names: Some(names),
            values,
        };
    }

    pub(crate) fn path_span(&self) -> Span {
        self.path
    }

    /// The body.
    pub fn body_mut(&mut self) -> &mut Body {
        &mut self.body
    }

    /// Takes the body out, leaving an empty one.
    pub fn take_body(&mut self) -> Body {
        std::mem::replace(&mut self.body, Body::empty())
    }

    /// The client's address (`None` for a parsed request).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// The shard-local state given to [`Router::state`](crate::Router::state),
    /// if it is a `T`.
    pub fn state<T: 'static>(&self) -> Option<&T> {
        self.state.as_ref()?.downcast_ref()
    }

    pub(crate) fn set_state(&mut self, state: Option<Rc<dyn Any>>) {
        self.state = state;
    }

    /// Values that middleware attached to this request.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// Values that middleware attached to this request.
    pub fn extensions_mut(&mut self) -> &mut Extensions {
        &mut self.extensions
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path())
            .field("query", &self.query())
            .field("minor_version", &self.minor)
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
