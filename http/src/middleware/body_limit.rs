use super::{Middleware, Next};
use crate::request::Request;
use crate::response::Response;
use futures_util::future::LocalBoxFuture;

/// Limits request bodies to a number of bytes, below the server-wide
/// [`Limits::max_body`](crate::Limits): a declared `Content-Length` over
/// it is answered `413` before the handler runs; a chunked body that grows
/// past it fails the handler's read with a `413` error.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub u64);

impl Middleware for BodyLimit {
    fn call<'a>(&'a self, mut req: Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        if req.body_mut().content_length().is_some_and(|n| n > self.0) {
            return Box::pin(async {
                let mut res = Response::error(413);
                res.close_connection();
                res
            });
        }
        req.body_mut().set_limit(self.0);
        next.run(req)
    }
}
