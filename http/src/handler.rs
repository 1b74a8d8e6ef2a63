//! Handlers: async functions from a request to anything that becomes a
//! response.

use crate::request::Request;
use crate::response::{IntoResponse, Response};
use futures_util::future::LocalBoxFuture;
use std::future::Future;

/// Something that answers requests. Implemented for every
/// `Fn(Request) -> impl Future<Output = impl IntoResponse>`, so an
/// `async fn handler(req: Request) -> Response` is a handler.
///
/// Handlers run on the shard that accepted the connection and need not be
/// `Send`.
pub trait Handler: 'static {
    /// Answers `req`.
    fn call(&self, req: Request) -> LocalBoxFuture<'static, Response>;
}

impl<F, Fut, R> Handler for F
where
    F: Fn(Request) -> Fut + 'static,
    Fut: Future<Output = R> + 'static,
    R: IntoResponse,
{
    fn call(&self, req: Request) -> LocalBoxFuture<'static, Response> {
        let fut = self(req);
        Box::pin(async move { fut.await.into_response() })
    }
}
