//! The `Compress` middleware: which responses are compressed, and how.

mod encoder;
mod file;
mod stream;

use super::{Middleware, Next};
use crate::method::Method;
use crate::negotiate::coding_q;
use crate::request::Request;
use crate::response::{Response, ResponseBody};
use bytes::Bytes;
use encoder::{Coding, Encoder};
use flate2::Compression;
use futures_util::future::LocalBoxFuture;
use futures_util::stream::{LocalBoxStream, StreamExt};
use std::io;

/// Compresses eligible responses with gzip or deflate (flate2), as the
/// request's `Accept-Encoding` allows (q-values honoured; gzip preferred on
/// a tie).
///
/// Eligible: a compressible type (`text/*`, JSON, JavaScript, XML, SVG,
/// `+json`/`+xml`), no `Content-Encoding` yet, no
/// `Cache-Control: no-transform`, a status with a body other than `206`,
/// and a body that is either
///
/// * in memory, of at least [`min_size`](Compress::min_size) bytes
///   (default 1 KiB): it is compressed whole and keeps a `Content-Length`;
/// * or a stream: each piece the handler yields is compressed and flushed
///   as it comes, so a streamed answer (server-sent events, say) reaches
///   the client piece by piece, compressed. At most
///   [`max_streams`](Compress::max_streams) streams are compressed at once
///   on a shard (default 128): each holds an encoder of about 403 KiB;
/// * or a file range ([`ResponseBody::File`], as
///   [`StaticFiles`](crate::StaticFiles) answers) of at least `min_size`
///   bytes: read through the ring 64 KiB at a time (a read the page cache
///   cannot serve does not stop the shard) and compressed as a stream, as
///   nginx's `gzip on` does. It takes one of the `max_streams` places;
///   with none free, the file goes out as it is, zero-copy. A file with a
///   precompressed sibling (`.gz`, `.br`) is sent as that sibling instead:
///   its answer already names a `Content-Encoding`.
///
/// A compressed body is sent chunked (a stream or a file) or with its new
/// `Content-Length` (a body in memory), and loses `Accept-Ranges`: ranges
/// are served of the plain file only (a `206` is never compressed).
///
/// A `HEAD` answer carries the fields the `GET` would: a body in memory is
/// compressed for its `Content-Length`; a stream or a file only names the
/// coding, with no encoder built and no place taken.
///
/// Compression runs on the shard, 16 KiB of input at a time, and yields to
/// the shard's other tasks between slices: a body of megabytes slows its
/// own response, not every other connection of the shard.
///
/// `Vary: Accept-Encoding` is added to every response of a compressible
/// type, compressed or not (unless a `Vary` field names it already), so
/// caches keep the variants apart, and a strong `ETag` on a compressed
/// response becomes weak (`W/"..."`): the compressed bytes are not the
/// representation it named.
///
/// ```
/// use shardio_http::middleware::Compress;
/// use shardio_http::{Request, Response, Router};
///
/// let router = Router::new()
///     .middleware(Compress::new().min_size(512))
///     .get("/report", |_r: Request| async { Response::text("row\n".repeat(1000)) });
/// # drop(router);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Compress {
    min_size: usize,
    level: Compression,
    max_streams: usize,
}

impl Default for Compress {
    fn default() -> Compress {
        Compress::new()
    }
}

impl Compress {
    /// Default settings: 1 KiB minimum, compression level 6, at most 128
    /// streams compressed at once per shard.
    pub fn new() -> Compress {
        Compress {
            min_size: 1024,
            level: Compression::default(),
            max_streams: 128,
        }
    }

    /// Bodies in memory smaller than this are sent as they are. (A
    /// stream's size is not known: streams are always compressed.)
    pub fn min_size(mut self, bytes: usize) -> Compress {
        self.min_size = bytes;
        self
    }

    /// At most this many streamed bodies are compressed at once on a shard
    /// (counting those of every `Compress` there); the streams beyond are
    /// sent as they are. Each open compressed stream holds its encoder's
    /// state, about 403 KiB, for as long as it lasts: 128 streams, the
    /// default, take 50 MiB per shard. An application that keeps many
    /// long streams open (server-sent events to every client, say) sets
    /// this to what its memory allows, or 0 to compress no stream.
    pub fn max_streams(mut self, streams: usize) -> Compress {
        self.max_streams = streams;
        self
    }

    /// The compression level, 0 (none) to 9 (best).
    ///
    /// The encoder is flate2 on zlib-rs, a port of zlib-ng. Its level 1
    /// is a quick mode that packs about a third less tightly than level 2
    /// (a JSON report: 716 KB against 445 KB from 3.45 MB); level 2 packs
    /// like zlib's level 1 and is the one to choose for "fast, but not
    /// much larger". `docs/BENCHMARKS.md` has the table for every level.
    pub fn level(mut self, level: u32) -> Compress {
        self.level = Compression::new(level.min(9));
        self
    }

    /// `body` compressed whole, yielding to the shard between slices.
    async fn compress(&self, coding: Coding, body: &[u8]) -> std::io::Result<bytes::Bytes> {
        let mut encoder = Encoder::new(coding, self.level, body.len() / 3);
        encoder.write(body).await?;
        encoder.finish()
    }

    /// A place for a streamed body (a stream or a file) to be compressed,
    /// when the shard has one more. A HEAD answer takes none: its body is
    /// never polled, so it only asks whether the GET would have one.
    fn place(&self, head: bool) -> Option<Place> {
        if head {
            return stream::Permit::free(self.max_streams).then_some(Place::Head);
        }
        stream::Permit::take(self.max_streams).map(Place::Taken)
    }

    /// The body `body()` makes, compressed as a stream in `place`. For a
    /// HEAD answer, an empty stream: neither the body nor an encoder (about
    /// 403 KiB) is made for fields alone.
    fn stream(
        &self,
        coding: Coding,
        place: Place,
        body: impl FnOnce() -> LocalBoxStream<'static, io::Result<Bytes>>,
    ) -> ResponseBody {
        ResponseBody::Stream(match place {
            Place::Head => futures_util::stream::empty().boxed_local(),
            Place::Taken(permit) => {
                let encoder = Encoder::new(coding, self.level, 0);
                stream::compressed(body(), encoder, permit)
            }
        })
    }

    /// The response with its body compressed, or as it was when the body
    /// is not one to compress.
    async fn compressed(&self, coding: Coding, head: bool, mut res: Response) -> Response {
        match res.take_body() {
            ResponseBody::Bytes(b) if b.len() >= self.min_size => {
                match self.compress(coding, &b).await {
                    Ok(packed) => res.set_body(ResponseBody::Bytes(packed)),
                    // Not expected of an encoder writing to memory; the
                    // plain body is still a good answer.
                    Err(_) => {
                        res.set_body(ResponseBody::Bytes(b));
                        return res;
                    }
                }
            }
            ResponseBody::Stream(body) => match self.place(head) {
                Some(place) => res.set_body(self.stream(coding, place, || body)),
                None => {
                    res.set_body(ResponseBody::Stream(body));
                    return res;
                }
            },
            ResponseBody::File { file, offset, len } if len >= self.min_size as u64 => {
                match self.place(head) {
                    Some(place) => {
                        let pieces = || file::pieces(file, offset, len);
                        res.set_body(self.stream(coding, place, pieces));
                    }
                    // No place for another encoder: the file goes out as it
                    // is, zero-copy.
                    None => {
                        res.set_body(ResponseBody::File { file, offset, len });
                        return res;
                    }
                }
            }
            other => {
                res.set_body(other);
                return res;
            }
        }
        res.set_header("content-encoding", coding.name());
        weaken_etag(&mut res);
        // Ranges of the compressed bytes are not served (a range request
        // gets a `206` of the plain file, which is never compressed).
        res.remove_header("accept-ranges");
        res
    }
}

/// Where a compressed stream's encoder lives.
enum Place {
    /// A HEAD answer: no encoder, and no place taken.
    Head,
    /// One of the shard's `max_streams` places.
    Taken(stream::Permit),
}

/// Picks a coding from an `Accept-Encoding` value (RFC 9110 §12.5.3):
/// the higher q-value, gzip on a tie, none at q=0.
fn choose(accept: &str) -> Option<Coding> {
    let gzip = coding_q(accept, &["gzip", "x-gzip"]);
    let deflate = coding_q(accept, &["deflate"]);
    match (gzip, deflate) {
        (g, d) if g > 0.0 && g >= d => Some(Coding::Gzip),
        (_, d) if d > 0.0 => Some(Coding::Deflate),
        _ => None,
    }
}

/// A strong `ETag` names the bytes of one representation, and the
/// compressed body is another (RFC 9110 §8.8.3): it becomes weak
/// (`W/"..."`), which still matches for `If-None-Match` (a weak
/// comparison) but never for ranges or `If-Match`, as nginx does.
fn weaken_etag(res: &mut Response) {
    if let Some(tag) = res.header("etag").filter(|t| t.starts_with('"')) {
        let weak = format!("W/{tag}");
        res.set_header("etag", weak);
    }
}

/// Whether a body of `content_type` is worth compressing: text, JSON,
/// JavaScript, XML, SVG, WebAssembly. Compared in any case, without
/// allocating: it runs for every response.
fn is_compressible(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    let starts = |p: &str| {
        essence
            .get(..p.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(p))
    };
    let ends = |p: &str| {
        essence
            .len()
            .checked_sub(p.len())
            .and_then(|at| essence.get(at..))
            .is_some_and(|s| s.eq_ignore_ascii_case(p))
    };
    starts("text/")
        || ends("+json")
        || ends("+xml")
        || [
            "application/json",
            "application/javascript",
            "application/xml",
            "application/wasm",
        ]
        .iter()
        .any(|t| essence.eq_ignore_ascii_case(t))
}

/// Whether a `Vary` field of `res` already names `Accept-Encoding` (the
/// static file service's answers with precompressed siblings do), or is
/// `*`: then another would only repeat it.
fn varies_by_encoding(res: &Response) -> bool {
    res.headers()
        .filter(|(name, _)| name.eq_ignore_ascii_case("vary"))
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim)
        .any(|v| v == "*" || v.eq_ignore_ascii_case("accept-encoding"))
}

/// Whether a `Cache-Control` value carries `no-transform` (RFC 9111
/// §5.2.2.6), in any case.
fn forbids_transform(cache_control: &str) -> bool {
    cache_control
        .split(',')
        .any(|d| d.trim().eq_ignore_ascii_case("no-transform"))
}

impl Middleware for Compress {
    fn call<'a>(&'a self, req: Request, next: Next<'a>) -> LocalBoxFuture<'a, Response> {
        let coding = req.header("accept-encoding").and_then(choose);
        let head = req.method() == Method::Head;
        Box::pin(async move {
            let mut res = next.run(req).await;
            if !res.header("content-type").is_some_and(is_compressible) {
                return res;
            }
            if !varies_by_encoding(&res) {
                res.add_header("vary", "Accept-Encoding");
            }
            let status = res.status();
            let eligible = crate::status::has_body(status)
                && status != 206
                && res.header("content-encoding").is_none()
                && !res.header("cache-control").is_some_and(forbids_transform);
            match coding {
                // A HEAD answer gets the fields of the compressed GET: a
                // body in memory is compressed for its length, a stream
                // or a file is not.
                Some(coding) if eligible => self.compressed(coding, head, res).await,
                _ => res,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressible_types_in_any_case() {
        for t in [
            "text/html",
            "TEXT/plain; charset=utf-8",
            "application/json",
            "Application/JSON",
            "application/problem+json",
            "image/svg+xml",
            "application/wasm",
            " text/css ; q=1",
        ] {
            assert!(is_compressible(t), "{t}");
        }
        for t in [
            "image/png",
            "application/octet-stream",
            "json",
            "",
            "text",
            "é",
            "éjson",
        ] {
            assert!(!is_compressible(t), "{t}");
        }
    }

    #[test]
    fn no_transform_is_a_directive() {
        assert!(forbids_transform("no-transform"));
        assert!(forbids_transform("public, No-Transform, max-age=60"));
        assert!(!forbids_transform("public, max-age=60"));
        assert!(!forbids_transform("x-no-transform-please"));
    }

    #[test]
    fn a_big_body_is_compressed_in_slices_between_other_tasks() {
        use std::cell::Cell;
        use std::io::Read;
        use std::rc::Rc;

        let body: Vec<u8> = (0..40_000u32)
            .flat_map(|i| format!("row {i}, ").into_bytes())
            .collect();
        let slices = body.len().div_ceil(encoder::SLICE);
        let (packed, turns) = shardio::block_on(async {
            // Another task of the shard, counting the turns it gets while
            // the body is compressed.
            let turns = Rc::new(Cell::new(0usize));
            let done = Rc::new(Cell::new(false));
            let (t, d) = (turns.clone(), done.clone());
            shardio::spawn_detached(async move {
                while !d.get() {
                    t.set(t.get() + 1);
                    shardio::yield_now().await;
                }
            });
            let packed = Compress::new().compress(Coding::Deflate, &body).await;
            done.set(true);
            (packed.unwrap(), turns.get())
        })
        .unwrap();
        assert!(turns >= slices - 1, "{turns} turns for {slices} slices");
        let mut plain = Vec::new();
        flate2::read::ZlibDecoder::new(&packed[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, body);
        assert!(packed.len() < body.len() / 3, "{} bytes", packed.len());
    }

    /// A HEAD answer names the coding the GET would get, but builds no
    /// encoder and takes no place: with the one place held by a GET, it
    /// names none, as the GET would then be sent plain.
    #[test]
    fn a_head_answer_builds_no_encoder_and_takes_no_place() {
        use crate::config::Limits;
        use crate::handler::FutureSlot;
        use crate::parse::{self, Parsed};
        use crate::request::Parts;
        use crate::storage::Storage;
        use crate::test_alloc::bytes_allocated;
        use crate::Router;
        use futures_util::FutureExt;
        use shardio::pool::LocalPooled;
        use std::rc::Rc;

        let router = Router::new()
            .middleware(Compress::new().max_streams(1))
            .get("/log", |_req: Request| async {
                let lines = futures_util::stream::iter([Ok(Bytes::from("line\n"))]);
                Response::stream(lines).with_header("content-type", "text/plain")
            });
        let mut slot = FutureSlot::new();
        let mut answer = |method: &str| {
            let head =
                format!("{method} /log HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n");
            let buf = Rc::new(Storage::Heap(head.as_bytes().into()));
            let mut parts = LocalPooled::unpooled(Parts::new());
            let parsed = parse::parse(&buf, 0, &Limits::default(), &mut parts.line);
            assert!(matches!(parsed, Parsed::Complete));
            let req = Request::new(parts, buf.clone(), None);
            router.call_in(req, &mut slot).now_or_never().unwrap()
        };
        let coding = |res: &Response| res.header("content-encoding").map(str::to_owned);

        let (bytes, get) = bytes_allocated(|| answer("GET"));
        assert_eq!(coding(&get), Some("gzip".into()));
        assert!(bytes > 256 << 10, "a GET's encoder: {bytes} bytes");

        // The GET's stream holds the one place.
        let (_, head) = bytes_allocated(|| answer("HEAD"));
        assert_eq!(coding(&head), None, "no place for the GET either");
        drop(get);

        for _ in 0..3 {
            let (bytes, head) = bytes_allocated(|| answer("HEAD"));
            assert_eq!(coding(&head), Some("gzip".into()));
            assert!(bytes < 16 << 10, "a HEAD answer allocated {bytes} bytes");
        }
    }

    #[test]
    fn picks_by_q_value() {
        assert_eq!(choose("gzip, deflate"), Some(Coding::Gzip));
        assert_eq!(choose("deflate"), Some(Coding::Deflate));
        assert_eq!(choose("gzip;q=0.5, deflate"), Some(Coding::Deflate));
        assert_eq!(choose("gzip;q=0"), None);
        assert_eq!(choose("*"), Some(Coding::Gzip));
        assert_eq!(choose("*;q=0, identity"), None);
        assert_eq!(choose("br"), None);
    }
}
