use super::{Middleware, Next};
use crate::negotiate::coding_q;
use crate::request::Request;
use crate::response::{Response, ResponseBody};
use bytes::Bytes;
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use futures_util::future::LocalBoxFuture;
use std::io::Write;

/// Compresses eligible responses with gzip or deflate (flate2), as the
/// request's `Accept-Encoding` allows (q-values honoured; gzip preferred on
/// a tie).
///
/// Eligible: a body in memory of at least [`min_size`](Compress::min_size)
/// bytes (default 1 KiB), a compressible type (`text/*`, JSON, JavaScript,
/// XML, SVG, `+json`/`+xml`), no `Content-Encoding` yet, no
/// `Cache-Control: no-transform`, and a status with a body other than
/// `206`. Streamed and file bodies are left alone (files go out zero-copy).
/// `Vary: Accept-Encoding` is added to every response of a compressible
/// type, compressed or not, so caches keep the variants apart, and a
/// strong `ETag` on a compressed response becomes weak (`W/"..."`): the
/// compressed bytes are not the representation it named.
#[derive(Debug, Clone, Copy)]
pub struct Compress {
    min_size: usize,
    level: Compression,
}

impl Default for Compress {
    fn default() -> Compress {
        Compress::new()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coding {
    Gzip,
    Deflate,
}

impl Compress {
    /// Default settings: 1 KiB minimum, compression level 6.
    pub fn new() -> Compress {
        Compress {
            min_size: 1024,
            level: Compression::default(),
        }
    }

    /// Bodies smaller than this are sent as they are.
    pub fn min_size(mut self, bytes: usize) -> Compress {
        self.min_size = bytes;
        self
    }

    /// The compression level, 0 (none) to 9 (best).
    pub fn level(mut self, level: u32) -> Compress {
        self.level = Compression::new(level.min(9));
        self
    }

    fn compress(&self, coding: Coding, data: &[u8]) -> std::io::Result<Vec<u8>> {
        let out = Vec::with_capacity(data.len() / 3);
        match coding {
            Coding::Gzip => {
                let mut e = GzEncoder::new(out, self.level);
                e.write_all(data)?;
                e.finish()
            }
            Coding::Deflate => {
                // HTTP's "deflate" is the zlib format (RFC 9110 §8.4.1.2).
                let mut e = ZlibEncoder::new(out, self.level);
                e.write_all(data)?;
                e.finish()
            }
        }
    }
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
        Box::pin(async move {
            let mut res = next.run(req).await;
            if !res.header("content-type").is_some_and(is_compressible) {
                return res;
            }
            res.add_header("vary", "Accept-Encoding");
            let status = res.status();
            let eligible = coding.is_some()
                && crate::status::has_body(status)
                && status != 206
                && res.header("content-encoding").is_none()
                && !res.header("cache-control").is_some_and(forbids_transform);
            let (Some(coding), true) = (coding, eligible) else {
                return res;
            };
            let body = match res.body() {
                ResponseBody::Bytes(b) if b.len() >= self.min_size => b.clone(),
                _ => return res,
            };
            // A HEAD answer is compressed too, so its length matches GET's.
            if let Ok(packed) = self.compress(coding, &body) {
                res.set_body(ResponseBody::Bytes(Bytes::from(packed)));
                res.set_header(
                    "content-encoding",
                    match coding {
                        Coding::Gzip => "gzip",
                        Coding::Deflate => "deflate",
                    },
                );
                weaken_etag(&mut res);
            }
            res
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
