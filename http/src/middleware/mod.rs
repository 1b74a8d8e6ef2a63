//! Middleware: code around every handler of a router or a route group,
//! able to change the request, the response, or to answer by itself.
//!
//! A middleware gets the request and a [`Next`]; it calls
//! [`Next::run`] to go on down the chain (to the next middleware, and
//! finally to the handler) or returns a response of its own without
//! calling it. Router-wide middleware ([`Router::middleware`](crate::Router::middleware))
//! also sees requests that match no route (their `404`/`405`); a group's
//! middleware sees only its routes.
//!
//! ```
//! use futures_util::future::LocalBoxFuture;
//! use shardio_http::middleware::{Middleware, Next};
//! use shardio_http::{Request, Response};
//!
//! /// Refuses requests without an `x-token` header.
//! struct NeedToken;
//!
//! impl Middleware for NeedToken {
//!     fn call<'a>(&'a self, req: Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
//!         if req.header("x-token").is_none() {
//!             return Box::pin(async { Response::error(401) });
//!         }
//!         next.run(req)
//!     }
//! }
//! ```

mod body_limit;
mod compress;
mod cors;
mod log_sink;
mod logger;
mod rate_limit;
mod recover;
mod request_id;
mod timeout;

pub use body_limit::BodyLimit;
pub use compress::Compress;
pub use cors::Cors;
pub use logger::AccessLog;
pub use rate_limit::RateLimit;
pub use recover::Recover;
pub use request_id::{RequestId, RequestIds};
pub use timeout::Timeout;

use crate::handler::Handler;
use crate::request::Request;
use crate::response::Response;
use crate::router::Router;
use futures_util::future::LocalBoxFuture;
use std::fmt;
use std::rc::Rc;

/// Code that runs around handlers; see the [module docs](self).
pub trait Middleware: 'static {
    /// Handles `req`, calling `next.run(req)` to go on down the chain.
    fn call<'a>(&'a self, req: Request, next: Next<'a>) -> LocalBoxFuture<'a, Response>;
}

/// The rest of the chain after a middleware.
pub struct Next<'a> {
    chain: &'a [Rc<dyn Middleware>],
    target: Target<'a>,
}

#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    /// Router-wide middleware ends in the route lookup.
    Route(&'a Router),
    Handler(&'a dyn Handler),
}

impl<'a> Next<'a> {
    pub(crate) fn new(chain: &'a [Rc<dyn Middleware>], target: Target<'a>) -> Next<'a> {
        Next { chain, target }
    }

    /// Runs the rest of the chain on `req`.
    pub fn run(self, req: Request) -> LocalBoxFuture<'a, Response> {
        match self.chain.split_first() {
            Some((first, rest)) => first.call(req, Next::new(rest, self.target)),
            None => match self.target {
                Target::Route(router) => router.dispatch(req),
                Target::Handler(handler) => handler.call(req),
            },
        }
    }
}

impl fmt::Debug for Next<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Next")
            .field("remaining", &self.chain.len())
            .finish()
    }
}
