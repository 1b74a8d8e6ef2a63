use super::{Middleware, Next};
use crate::request::Request;
use crate::response::Response;
use futures_util::future::LocalBoxFuture;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;

/// Turns a panicking handler into a `500`; the connection lives on.
///
/// The panic is reported by the process's panic hook as usual. Put this
/// first (outermost) so it covers every other middleware too.
#[derive(Debug, Default, Clone, Copy)]
pub struct Recover;

impl Middleware for Recover {
    fn call<'a>(&'a self, req: Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        // A panic leaves no shared state half-updated that the next
        // request depends on: a request owns its data, and the shard's
        // structures are not borrowed across a handler's await points.
        Box::pin(
            AssertUnwindSafe(next.run(req))
                .catch_unwind()
                .map(|r| r.unwrap_or_else(|_| Response::error(500))),
        )
    }
}
