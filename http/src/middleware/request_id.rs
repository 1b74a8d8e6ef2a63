use super::{Middleware, Next};
use crate::request::Request;
use crate::response::Response;
use futures_util::future::LocalBoxFuture;
use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

/// The id of a request, in its [`extensions`](Request::extensions) once
/// [`RequestIds`] ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

/// Gives each request an id: the client's `x-request-id` when it is a sane
/// token (at most 64 characters of `[A-Za-z0-9._-]`), otherwise a new one
/// unique to this process (start time, shard, counter). The id goes into
/// the request's extensions and the response's `x-request-id`.
#[derive(Debug)]
pub struct RequestIds {
    prefix: String,
    next: Cell<u64>,
}

impl Default for RequestIds {
    fn default() -> RequestIds {
        RequestIds::new()
    }
}

impl RequestIds {
    /// A generator for this shard.
    pub fn new() -> RequestIds {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        let shard = shardio::current().map_or(0, |s| s.id());
        RequestIds {
            prefix: format!("{started:x}-{shard:x}"),
            next: Cell::new(0),
        }
    }
}

fn is_sane(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl Middleware for RequestIds {
    fn call<'a>(&'a self, mut req: Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        let id = match req.header("x-request-id") {
            Some(id) if is_sane(id) => id.to_owned(),
            _ => {
                let n = self.next.get();
                self.next.set(n + 1);
                format!("{}-{n:x}", self.prefix)
            }
        };
        req.extensions_mut().insert(RequestId(id.clone()));
        Box::pin(async move {
            let mut res = next.run(req).await;
            res.set_header("x-request-id", id);
            res
        })
    }
}
