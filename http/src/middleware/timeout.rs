use super::{Middleware, Next};
use crate::request::Request;
use crate::response::Response;
use futures_util::future::LocalBoxFuture;
use std::time::Duration;

/// Answers `503 Service Unavailable` when the rest of the chain takes longer
/// than a duration; the handler's future is dropped (its I/O cancelled).
///
/// The connection closes after such a response, since the handler may
/// have been stopped halfway through reading its request's body.
#[derive(Debug, Clone, Copy)]
pub struct Timeout(pub Duration);

impl Middleware for Timeout {
    fn call<'a>(&'a self, req: Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        let limit = self.0;
        Box::pin(async move {
            match shardio::time::timeout(limit, next.run(req)).await {
                Ok(res) => res,
                Err(_) => {
                    let mut res = Response::error(503);
                    res.close_connection();
                    res
                }
            }
        })
    }
}
