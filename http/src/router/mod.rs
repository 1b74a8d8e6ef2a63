//! The router: a radix tree from path patterns to per-method handlers, with
//! route groups and middleware.

mod exact;
mod tree;

use crate::handler::{FutureSlot, Handler};
use crate::method::Method;
use crate::middleware::{Middleware, Next, Target};
use crate::request::Request;
use crate::response::Response;
use exact::Exact;
use futures_util::future::LocalBoxFuture;
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use tree::{pieces, Node, Piece};

/// A handler with the group middleware that runs before it.
#[derive(Clone)]
struct Endpoint {
    chain: Rc<[Rc<dyn Middleware>]>,
    handler: Rc<dyn Handler>,
}

/// Everything registered for one path pattern.
struct Route {
    pattern: String,
    /// Parameter names, in pattern order.
    names: Rc<[Box<str>]>,
    by_method: [Option<Endpoint>; Method::ALL.len()],
    /// The `Allow` value, kept up to date as methods are added.
    allow: String,
}

impl Route {
    fn has(&self, method: Method) -> bool {
        self.by_method[method.index()].is_some()
    }
}

/// Routes requests to handlers by method and path.
///
/// * Patterns: static text, `:name` (one segment), `*name` (the rest of
///   the path, possibly empty); static beats parameter beats wildcard.
/// * No route for the path → `404`. The path matches but not the method →
///   `405` with an `Allow` header. `HEAD` falls back to the `GET` handler
///   (the server sends the head only); `OPTIONS` without a handler answers
///   `204` with `Allow`, and `OPTIONS *` with every method of the router
///   (unless a [`not_found`](Router::not_found) handler is set: that
///   answers every path no route has, `*` included).
///
/// Each shard builds its own router, so state given to
/// [`state`](Router::state) is shard-local and needs no locking.
///
/// # Examples
///
/// ```
/// use shardio_http::{Request, Router};
///
/// async fn user(req: Request) -> String {
///     format!("user {}", req.param("id").unwrap_or_default())
/// }
///
/// let router = Router::new()
///     .get("/", |_req: Request| async { "home" })
///     .get("/users/:id", user)
///     .group("/api", |g| g.get("/health", |_req: Request| async { "ok" }));
/// # let _ = router;
/// ```
pub struct Router {
    tree: Node,
    /// Patterns with no parameter, by their text: a path equal to one is
    /// routed there (static beats everything) without a walk down the tree.
    exact: Exact,
    routes: Vec<Route>,
    middleware: Vec<Rc<dyn Middleware>>,
    state: Option<Rc<dyn Any>>,
    not_found: Option<Rc<dyn Handler>>,
}

impl Default for Router {
    fn default() -> Router {
        Router::new()
    }
}

/// `get`, `post`, `put`, `delete` and `patch`: shorthands for `route`,
/// the same on a [`Router`] and a [`Group`].
macro_rules! method_shortcuts {
    ($Self:ty) => {
        method_shortcuts!(@one $Self, get, Get, "GET");
        method_shortcuts!(@one $Self, post, Post, "POST");
        method_shortcuts!(@one $Self, put, Put, "PUT");
        method_shortcuts!(@one $Self, delete, Delete, "DELETE");
        method_shortcuts!(@one $Self, patch, Patch, "PATCH");
    };
    (@one $Self:ty, $name:ident, $method:ident, $text:literal) => {
        #[doc = concat!("Adds a `", $text, "` handler.")]
        pub fn $name(self, pattern: &str, handler: impl Handler) -> $Self {
            self.route(Method::$method, pattern, handler)
        }
    };
}

impl Router {
    /// An empty router.
    pub fn new() -> Router {
        Router {
            tree: Node::default(),
            exact: Exact::default(),
            routes: Vec::new(),
            middleware: Vec::new(),
            state: None,
            not_found: None,
        }
    }

    /// Adds `handler` for `method` on `pattern`.
    ///
    /// # Panics
    ///
    /// On a malformed pattern, a parameter name that conflicts with another
    /// route's at the same place, or a second handler for the same method
    /// and pattern.
    pub fn route(mut self, method: Method, pattern: &str, handler: impl Handler) -> Router {
        self.add(
            method,
            pattern,
            Endpoint {
                chain: Rc::from(Vec::new()),
                handler: Rc::new(handler),
            },
        );
        self
    }

    method_shortcuts!(Router);

    /// Adds routes under `prefix` with their own middleware.
    pub fn group(mut self, prefix: &str, build: impl FnOnce(Group) -> Group) -> Router {
        let group = build(Group::new(prefix.to_owned(), Vec::new()));
        for (method, pattern, endpoint) in group.routes {
            self.add(method, &pattern, endpoint);
        }
        self
    }

    /// Adds middleware that runs for every request, in the order added
    /// (the first added is the outermost).
    pub fn middleware(mut self, middleware: impl Middleware) -> Router {
        self.middleware.push(Rc::new(middleware));
        self
    }

    /// Sets the value handlers reach with [`Request::state`].
    pub fn state<T: 'static>(mut self, state: T) -> Router {
        self.state = Some(Rc::new(state));
        self
    }

    /// Sets the handler for requests that match no route (default: `404`).
    pub fn not_found(mut self, handler: impl Handler) -> Router {
        self.not_found = Some(Rc::new(handler));
        self
    }

    fn add(&mut self, method: Method, pattern: &str, endpoint: Endpoint) {
        let pieces = pieces(pattern);
        let next = self.routes.len();
        let index = self.tree.insert(&pieces, next);
        if index == next {
            // Patterns start with `/`, so a parameterless one is one piece.
            if let [Piece::Static(_)] = &pieces[..] {
                self.exact.insert(pattern.as_bytes(), index);
            }
            let names = pieces
                .iter()
                .filter_map(|p| match p {
                    Piece::Param(n) | Piece::Wildcard(n) => Some(Box::<str>::from(*n)),
                    Piece::Static(_) => None,
                })
                .collect();
            self.routes.push(Route {
                pattern: pattern.to_owned(),
                names,
                by_method: Default::default(),
                allow: String::new(),
            });
        }
        let route = &mut self.routes[index];
        let slot = &mut route.by_method[method.index()];
        assert!(
            slot.is_none(),
            "{method} {pattern} is already routed (as {})",
            route.pattern
        );
        *slot = Some(endpoint);
        route.allow = allow_header(|m| route.has(m));
    }

    /// Answers `req`: router-wide middleware, then the route's group
    /// middleware and handler (or `404`/`405`/automatic `OPTIONS`).
    ///
    /// The server runs requests through the same steps, with the handler's
    /// future put in a slot it reuses; this is public so that tests and
    /// benches can drive a router without a socket.
    pub fn call(&self, mut req: Request) -> LocalBoxFuture<'_, Response> {
        req.set_state(self.state.clone());
        if self.middleware.is_empty() {
            self.dispatch(req)
        } else {
            Next::new(&self.middleware, Target::Route(self)).run(req)
        }
    }

    /// Answers `req` as [`call`](Router::call) does, with the handler's
    /// future put in `slot` rather than boxed: what the server does for
    /// every request, with a slot it reuses for a connection's burst of
    /// requests. Middleware still boxes its chain.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::FutureExt;
    /// use shardio_http::{FutureSlot, Request, Router};
    ///
    /// let router = Router::new().get("/", |_req: Request| async { "home" });
    /// let mut slot = FutureSlot::new();
    /// for _ in 0..2 {
    ///     let req = Request::parse(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    ///     let res = router.call_in(req, &mut slot).now_or_never().unwrap();
    ///     assert_eq!(res.status(), 200);
    /// }
    /// ```
    pub fn call_in<'a>(&'a self, mut req: Request, slot: &'a mut FutureSlot) -> Answer<'a> {
        req.set_state(self.state.clone());
        if !self.middleware.is_empty() {
            let chain = Next::new(&self.middleware, Target::Route(self)).run(req);
            return Answer(Pending::Boxed(chain));
        }
        match self.find(req) {
            Found::Handler(handler, req) => handler.call_in(req, slot),
            Found::Answer(res) => slot.put(std::future::ready(res)),
            chain @ Found::Chain(..) => return Answer(Pending::Boxed(chain.run())),
        }
        Answer(Pending::InSlot(slot))
    }

    /// Finds the route for `req` and runs it.
    pub(crate) fn dispatch(&self, req: Request) -> LocalBoxFuture<'_, Response> {
        self.find(req).run()
    }

    /// Finds what answers `req`: its route's handler (after the group's
    /// middleware), the not-found handler, or a `404`, `405` or automatic
    /// `OPTIONS` answer.
    fn find(&self, mut req: Request) -> Found<'_> {
        // A parameterless pattern: the request has no parameters, without
        // a walk that fills (and puts back) its vector of them.
        if let Some(i) = self.exact.get(req.path_bytes()) {
            req.clear_params();
            return self.endpoint(&self.routes[i], req);
        }
        let (start, end) = req.path_span();
        // The walk fills the request's own (pooled) vector of parameters,
        // so a route with parameters allocates nothing either.
        let mut spans = req.take_param_spans();
        let found = self
            .tree
            .lookup(req.path_bytes(), 0, &mut spans)
            .map(|i| &self.routes[i]);
        debug_assert!(end >= start);
        let names = match found {
            Some(route) if !route.names.is_empty() => {
                // Offsets in the path, made offsets in the buffer.
                for (a, b) in &mut spans {
                    (*a, *b) = (start + *a, start + *b);
                }
                Some(route.names.clone())
            }
            _ => None,
        };
        req.set_params(names, spans);
        match found {
            Some(route) => self.endpoint(route, req),
            None => self.unrouted(req),
        }
    }

    /// What answers `req` when no route's pattern matches its path.
    fn unrouted(&self, req: Request) -> Found<'_> {
        match &self.not_found {
            // The fallback answers every path no route has, `*` too.
            Some(h) => Found::Handler(&**h, req),
            // `OPTIONS *` (the only request with this path) asks about
            // the server as a whole (RFC 9110 §9.3.7): every method of
            // every route.
            None if req.path_bytes() == b"*" => {
                let allow = allow_header(|m| self.routes.iter().any(|r| r.has(m)));
                Found::Answer(Response::new(204).with_header("allow", allow))
            }
            None => Found::Answer(Response::error(404)),
        }
    }

    /// What answers `req` on `route`: the handler for its method (`GET`'s
    /// for `HEAD`), or a `405`, or the automatic `OPTIONS` answer.
    // Inlined into both paths of `find`: called, the `Found` it builds
    // (a response's worth of bytes) came back through memory.
    #[inline(always)]
    fn endpoint<'r>(&'r self, route: &'r Route, req: Request) -> Found<'r> {
        let method = req.method();
        let endpoint = route.by_method[method.index()].as_ref().or(match method {
            Method::Head => route.by_method[Method::Get.index()].as_ref(),
            _ => None,
        });
        match endpoint {
            Some(e) if e.chain.is_empty() => Found::Handler(&*e.handler, req),
            Some(e) => Found::Chain(&e.chain, &*e.handler, req),
            None if method == Method::Options => {
                Found::Answer(Response::new(204).with_header("allow", route.allow.clone()))
            }
            None => Found::Answer(Response::error(405).with_header("allow", route.allow.clone())),
        }
    }
}

/// The answer to a request from [`Router::call_in`]: a future of its
/// response.
pub struct Answer<'a>(Pending<'a>);

enum Pending<'a> {
    /// The handler's future, in the slot it was given.
    InSlot(&'a mut FutureSlot),
    /// A middleware chain's future.
    Boxed(LocalBoxFuture<'a, Response>),
}

impl Future for Answer<'_> {
    type Output = Response;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        match &mut self.0 {
            Pending::InSlot(slot) => Pin::new(&mut **slot).poll(cx),
            Pending::Boxed(fut) => fut.as_mut().poll(cx),
        }
    }
}

impl fmt::Debug for Answer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = match self.0 {
            Pending::InSlot(_) => "slot",
            Pending::Boxed(_) => "boxed",
        };
        f.debug_tuple("Answer").field(&at).finish()
    }
}

/// What answers a request, as [`Router::find`] found it.
enum Found<'a> {
    Handler(&'a dyn Handler, Request),
    Chain(&'a [Rc<dyn Middleware>], &'a dyn Handler, Request),
    Answer(Response),
}

impl<'a> Found<'a> {
    /// Runs it, its future boxed.
    fn run(self) -> LocalBoxFuture<'a, Response> {
        match self {
            Found::Handler(handler, req) => handler.call(req),
            Found::Chain(chain, handler, req) => {
                Next::new(chain, Target::Handler(handler)).run(req)
            }
            Found::Answer(res) => Box::pin(std::future::ready(res)),
        }
    }
}

/// `Allow` for the methods `has` names, plus the automatic `HEAD` (with
/// `GET`) and `OPTIONS`.
fn allow_header(has: impl Fn(Method) -> bool) -> String {
    Method::ALL
        .iter()
        .filter(|&&m| has(m) || (m == Method::Head && has(Method::Get)) || m == Method::Options)
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field(
                "routes",
                &self.routes.iter().map(|r| &r.pattern).collect::<Vec<_>>(),
            )
            .field("middleware", &self.middleware.len())
            .finish()
    }
}

/// Routes under a common prefix, with middleware of their own; made by
/// [`Router::group`] (or [`Group::group`] for nesting).
pub struct Group {
    prefix: String,
    middleware: Vec<Rc<dyn Middleware>>,
    routes: Vec<(Method, String, Endpoint)>,
}

impl Group {
    fn new(prefix: String, middleware: Vec<Rc<dyn Middleware>>) -> Group {
        Group {
            prefix,
            middleware,
            routes: Vec::new(),
        }
    }

    /// Adds middleware for this group's routes (including those of nested
    /// groups added after it).
    pub fn middleware(mut self, middleware: impl Middleware) -> Group {
        self.middleware.push(Rc::new(middleware));
        self
    }

    /// Adds `handler` for `method` on the prefix followed by `pattern`.
    pub fn route(mut self, method: Method, pattern: &str, handler: impl Handler) -> Group {
        let endpoint = Endpoint {
            chain: self.middleware.clone().into(),
            handler: Rc::new(handler),
        };
        self.routes
            .push((method, format!("{}{pattern}", self.prefix), endpoint));
        self
    }

    method_shortcuts!(Group);

    /// Adds a nested group; it inherits this group's prefix and middleware.
    pub fn group(mut self, prefix: &str, build: impl FnOnce(Group) -> Group) -> Group {
        let inner = build(Group::new(
            format!("{}{prefix}", self.prefix),
            self.middleware.clone(),
        ));
        self.routes.extend(inner.routes);
        self
    }
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("prefix", &self.prefix)
            .field("routes", &self.routes.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;
    use crate::parse::{self, Parsed};
    use crate::request::Parts;
    use crate::storage::Storage;
    use crate::test_alloc::allocations;
    use futures_util::FutureExt;
    use shardio::pool::Pool;

    /// In the server a request's parts come from a pool; once they have
    /// held a route's parameters, routing another request with
    /// parameters (and answering it from a slot) allocates nothing.
    #[test]
    fn a_route_with_parameters_allocates_nothing_once_warm() {
        let router = Router::new()
            .get("/", |_req: Request| async { Response::new(200) })
            .get("/user/:id/post/:post", |req: Request| async move {
                let ok = (req.param("id").as_deref(), req.param("post").as_deref())
                    == (Some("7"), Some("42"));
                Response::new(if ok { 200 } else { 500 })
            });
        let pool = Pool::builder(Parts::new).capacity(1).build_local();
        let mut slot = FutureSlot::new();
        let bytes: &[u8] = b"GET /user/7/post/42 HTTP/1.1\r\nHost: x\r\n\r\n";
        let buf = Rc::new(Storage::Heap(bytes.into()));
        let mut answer = |buf: &Rc<Storage>| {
            let mut parts = pool.get().unwrap();
            let parsed = parse::parse(buf, 0, &Limits::default(), &mut parts.line);
            assert!(matches!(parsed, Parsed::Complete));
            let req = Request::new(parts, buf.clone(), None);
            router
                .call_in(req, &mut slot)
                .now_or_never()
                .unwrap()
                .status()
        };
        assert_eq!(answer(&buf), 200, "warm: the pooled vectors grow");
        let (n, status) = allocations(|| answer(&buf));
        assert_eq!(status, 200);
        assert_eq!(n, 0, "allocations for a warm request with parameters");
    }

    /// The exact-match table is a shortcut only: for every parameterless
    /// pattern, the tree finds the same route, whatever else is routed.
    #[test]
    fn exact_matches_agree_with_the_tree() {
        let patterns = [
            "/",
            "/a",
            "/a/",
            "/a/b",
            "/a/:x",
            "/a/:x/b",
            "/a/*rest",
            "/ab",
            "/b/c*",
            "/b/:y",
            "/b/z",
            "/user/new",
            "/user/:id",
            "/user/:id/posts",
            "/user/*r",
        ];
        let mut router = Router::new();
        for p in patterns {
            router = router.get(p, |_req: Request| async { "" });
        }
        let statics: Vec<_> = patterns
            .iter()
            .filter(|p| !p.contains([':']) && !p.contains("/*"))
            .collect();
        assert_eq!(router.exact.len(), statics.len());
        for p in statics {
            let exact = router.exact.get(p.as_bytes());
            let tree = router.tree.lookup(p.as_bytes(), 0, &mut Vec::new());
            assert!(exact.is_some(), "{p}");
            assert_eq!(exact, tree, "{p}");
            assert_eq!(router.routes[exact.unwrap()].pattern, *p);
        }
    }
}
