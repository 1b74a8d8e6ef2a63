//! # shardio-http
//!
//! An HTTP/1.1 server, router and middleware for the [`shardio`]
//! thread-per-core runtime.
//!
//! ## Why it is shaped this way
//!
//! * **Nothing is copied that need not be.** A connection waiting for a
//!   request holds no buffer: one receive waits in the kernel, which picks
//!   a buffer from the shard's provided-buffer ring only when bytes arrive.
//!   Request heads are parsed (httparse) into offsets into that buffer, and
//!   body pieces are slices of it. Responses to every request found in one
//!   receive are gathered into one output buffer and leave in one send;
//!   file bodies go through [`shardio_zerocopy`] (sendfile or splice).
//! * **Strict framing.** Request smuggling lives in disagreements about
//!   where a request ends, so every ambiguity is refused with its status
//!   and the connection closed: `Content-Length` with `Transfer-Encoding`,
//!   malformed or differing lengths, a final coding that is not chunked,
//!   a chunk size followed by whitespace but no `;` extension (`3 \r\n`),
//!   a trailer line that is not a field line, obs-fold, a bad field, a
//!   missing, repeated or malformed `Host`.
//!   Limits, timeouts and the connection cap answer with the right status
//!   too.
//! * **Static files.** [`StaticFiles`] serves a directory: paths are
//!   checked, then opened with `openat2(RESOLVE_BENEATH)` through the ring;
//!   validators, conditionals, ranges (also `multipart/byteranges`),
//!   precompressed siblings and a per-shard open-file cache; bodies go
//!   through the zero-copy path, or are compressed on the way behind
//!   [`Compress`](middleware::Compress). The `shardio-serve` binary wraps
//!   it.
//! * **One server per shard.** Each shard runs [`Server::serve`] with its
//!   own listener, router and state; handlers are `!Send` async functions.
//!
//! ## Example
//!
//! ```
//! use shardio::net::{TcpListener, TcpStream};
//! use shardio_http::{Request, Router, Server};
//!
//! shardio::block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let addr = listener.local_addr()?;
//!     let router = Router::new().get("/user/:id", |req: Request| async move {
//!         format!("user {}", req.param("id").unwrap_or_default())
//!     });
//!     let (stopped, stop) = futures_util::future::abortable(std::future::pending::<()>());
//!     let server = shardio::spawn(Server::new().serve_until(listener, router, async {
//!         let _ = stopped.await;
//!     }));
//!
//!     let client = TcpStream::connect(addr).await?;
//!     let (r, _) = client
//!         .write_all(b"GET /user/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec())
//!         .await;
//!     r?;
//!     let mut response = Vec::new();
//!     loop {
//!         let (n, buf) = client.read(vec![0; 4096]).await;
//!         let n = n?;
//!         if n == 0 {
//!             break;
//!         }
//!         response.extend_from_slice(&buf[..n]);
//!     }
//!     assert!(response.ends_with(b"user 7"));
//!     stop.abort();
//!     server.await.unwrap()
//! })
//! .unwrap()
//! .unwrap();
//! ```

mod body;
mod config;
mod conn;
mod date;
mod deadlines;
mod drain;
mod encode;
mod eq;
mod fields;
mod files;
mod handler;
mod host;
mod method;
pub mod middleware;
mod negotiate;
mod parse;
mod request;
mod response;
mod router;
mod server;
mod slots;
mod status;
mod storage;
#[cfg(test)]
mod test_alloc;

pub use body::{Body, BodyError, Trailers};
pub use config::{Limits, Timeouts, MAX_HEADERS_CAP};
pub use conn::{Handoff, OnUpgrade, ReadHalf, Upgraded, WriteHalf};
pub use drain::Draining;
pub use files::StaticFiles;
pub use handler::{FutureSlot, Handler};
pub use method::Method;
pub use request::{Extensions, ParseError, Request};
pub use response::{FilePart, FileParts, HeaderText, IntoResponse, Response, ResponseBody};
pub use router::{Answer, Group, Router};
pub use server::{Receive, Server, MAX_MULTISHOT, MULTISHOT_LIMIT};
pub use status::reason;
pub use storage::Chunk;

/// Renders `res` as the bytes a server would send for a request with this
/// method and version (with `Date`), for benches and tools that answer
/// without a socket. Streamed and file bodies are left out. As in the
/// server, a response with a field that could split it becomes a `500`.
///
/// ```
/// use shardio_http::{encode_response, Response};
///
/// let mut out = Vec::new();
/// encode_response(Response::text("hi").with_header("x-a", "1\r\nx-b: 2"), false, 1, &mut out);
/// assert!(out.starts_with(b"HTTP/1.1 500 "));
/// ```
pub fn encode_response(mut res: Response, is_head: bool, minor: u8, out: &mut Vec<u8>) {
    res.make_writable();
    encode::sized(
        out,
        res.status(),
        res.fields(),
        res.body(),
        is_head,
        !res.closes_connection(),
        minor,
    );
}
