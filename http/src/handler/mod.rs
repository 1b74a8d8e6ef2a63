//! Handlers: async functions from a request to anything that becomes a
//! response.

mod slot;

pub use slot::FutureSlot;

use crate::request::Request;
use crate::response::{IntoResponse, Response};
use futures_util::future::LocalBoxFuture;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Something that answers requests. Implemented for every
/// `Fn(Request) -> impl Future<Output = impl IntoResponse>`, so an
/// `async fn handler(req: Request) -> Response` is a handler.
///
/// Handlers run on the shard that accepted the connection and need not be
/// `Send`.
///
/// # Examples
///
/// A handler written by hand needs only [`call`](Handler::call):
///
/// ```
/// use futures_util::future::LocalBoxFuture;
/// use shardio_http::{Handler, Request, Response};
///
/// /// Answers every request with the same text.
/// struct Fixed(&'static str);
///
/// impl Handler for Fixed {
///     fn call(&self, _req: Request) -> LocalBoxFuture<'static, Response> {
///         let text = self.0;
///         Box::pin(async move { Response::text(text) })
///     }
/// }
/// ```
pub trait Handler: 'static {
    /// Answers `req`.
    fn call(&self, req: Request) -> LocalBoxFuture<'static, Response>;

    /// Answers `req` with a future put in `slot`: what the server calls,
    /// with a slot it reuses for the requests of one connection.
    ///
    /// The default puts [`call`](Handler::call)'s boxed future there. The
    /// implementation for async functions puts their future there itself,
    /// so that answering a request allocates nothing.
    fn call_in(&self, req: Request, slot: &mut FutureSlot) {
        slot.put(self.call(req));
    }
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

    fn call_in(&self, req: Request, slot: &mut FutureSlot) {
        // Built in the slot: a handler that awaits (a body, another
        // service) has a future of hundreds of bytes.
        slot.put_with(|| Respond { fut: self(req) });
    }
}

pin_project_lite::pin_project! {
    /// A handler's future, its output made a [`Response`].
    ///
    /// Polled where it was written: an `async` block awaiting the handler's
    /// future would first move it (the request with it) into another part
    /// of its own state, reading back in wide loads what calling the
    /// handler had just written in narrow stores, a store-forwarding stall
    /// on every request.
    struct Respond<Fut> {
        #[pin]
        fut: Fut,
    }
}

impl<Fut> Future for Respond<Fut>
where
    Fut: Future<Output: IntoResponse>,
{
    type Output = Response;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        self.project().fut.poll(cx).map(IntoResponse::into_response)
    }
}
