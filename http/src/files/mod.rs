//! Static files: a [`Handler`] that serves a directory through the
//! zero-copy path, as nginx users expect it to.

mod cache;
mod cold;
mod conditional;
mod listing;
mod memory;
mod mime;
mod open;
mod path;
mod range;

use crate::handler::Handler;
use crate::method::Method;
use crate::negotiate::coding_q;
use crate::request::Request;
use crate::response::{HeaderText, Response, ResponseBody};
use cache::{Cache, CacheConfig, FileInfo, Kind, Rep};
use conditional::Precondition;
use futures_util::future::LocalBoxFuture;
use open::Root;
use path::RelPath;
use range::Ranges;
use std::fmt;
use std::fs::File;
use std::io;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

/// Serves the files beneath a directory.
///
/// * **Only beneath the root.** Request paths are percent-decoded and
///   refused (`400`) if they hold `..`, a backslash, a NUL or invalid
///   UTF-8; files are then opened with `openat2(RESOLVE_BENEATH)` through
///   the ring, so no symlink leads outside either. Names starting with `.`
///   are `404` unless [`hidden`](StaticFiles::hidden) is on.
/// * **`GET` and `HEAD`**; other methods get `405` with `Allow: GET, HEAD`.
/// * **Validators**: a strong `ETag` (inode, size, mtime) and
///   `Last-Modified`; `If-Match`, `If-Unmodified-Since`, `If-None-Match`,
///   `If-Modified-Since` (→ `412`/`304`) and `If-Range`.
/// * **Ranges**: one range → `206` with `Content-Range`; several →
///   `multipart/byteranges` (up to 16, not overlapping; otherwise the whole
///   file); none satisfiable → `416` with `Content-Range: bytes */N`.
/// * **Types** from the extension (`text/*` with `charset=utf-8`),
///   `application/octet-stream` otherwise. A precompressed sibling
///   (`x.br`, `x.gz`) is sent instead of `x` when `Accept-Encoding`
///   allows, with `Content-Encoding`, `Vary: Accept-Encoding` and `x`'s
///   type. Behind [`Compress`](crate::middleware::Compress), a text file
///   with no sibling the client can take is compressed as it is sent.
/// * **Directories**: `/dir` → `301` to `/dir/`; `/dir/` → its
///   `index.html`, else a listing if [`listing`](StaticFiles::listing) is
///   on, else `403`.
/// * **An open-file cache per shard**: fds and metadata for up to 1,024
///   paths, revalidated after a second, so a hot file costs no `open` or
///   `stat` per request. Files up to 16 KiB
///   ([`in_memory_max`](StaticFiles::in_memory_max)) are kept in memory
///   with them and leave in one send with their heads.
/// * **Bodies** go through [`shardio_zerocopy`] (sendfile or splice); a
///   client that goes away mid-body costs an error, nothing leaks. A file
///   the page cache does not hold, found when the cache opens or
///   revalidates it, is read through the ring instead
///   ([`Strategy::Copy`](shardio_zerocopy::Strategy::Copy)) until a
///   revalidation finds it cached, so a cold file never stops the shard
///   while the disk reads it.
///
/// # Examples
///
/// ```no_run
/// use shardio_http::{Router, Server, StaticFiles};
///
/// shardio::block_on(async {
///     let files = StaticFiles::new("./public")?.cache_control("max-age=60");
///     // Everything the router does not match is looked up on disk.
///     let router = Router::new().not_found(files);
///     Server::new().bind_and_serve("127.0.0.1:8080", router).await
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct StaticFiles {
    inner: Rc<Inner>,
}

struct Inner {
    cache: Cache,
    prefix: String,
    listing: bool,
    hidden: bool,
    cache_control: Option<HeaderText>,
}

impl StaticFiles {
    /// Serves the files beneath `root`, opened now and held open.
    ///
    /// # Errors
    ///
    /// `root` cannot be opened as a directory.
    pub fn new(root: impl AsRef<Path>) -> io::Result<StaticFiles> {
        let config = CacheConfig {
            capacity: 1024,
            valid: Duration::from_secs(1),
            precompressed: true,
            in_memory_max: memory::DEFAULT_MAX,
        };
        Ok(StaticFiles {
            inner: Rc::new(Inner {
                cache: Cache::new(Root::open(root.as_ref())?, config),
                prefix: String::new(),
                listing: false,
                hidden: false,
                cache_control: None,
            }),
        })
    }

    fn inner_mut(&mut self) -> &mut Inner {
        Rc::get_mut(&mut self.inner).expect("StaticFiles is configured before it serves")
    }

    /// Lists directories without an `index.html` (default: off → `403`).
    pub fn listing(mut self, on: bool) -> StaticFiles {
        self.inner_mut().listing = on;
        self
    }

    /// Serves names starting with `.` (default: off → `404`).
    pub fn hidden(mut self, on: bool) -> StaticFiles {
        self.inner_mut().hidden = on;
        self
    }

    /// Adds `Cache-Control: value` to file responses.
    pub fn cache_control(mut self, value: impl Into<HeaderText>) -> StaticFiles {
        self.inner_mut().cache_control = Some(value.into());
        self
    }

    /// Keeps files up to `max` bytes in memory in the open-file cache
    /// (default: 16 KiB; 0 turns it off). Such a file is read once each
    /// time the cache opens or revalidates it, through the ring, and its
    /// responses leave with their heads in one send, with no system call
    /// for the file. The shard holds at most the cache's capacity times
    /// `max` (16 MiB at the defaults). Its bytes always match its `ETag`.
    pub fn in_memory_max(mut self, max: u64) -> StaticFiles {
        self.inner_mut().cache.config_mut().in_memory_max = max;
        self
    }

    /// Serves `.br` and `.gz` siblings where the client accepts them
    /// (default: on).
    pub fn precompressed(mut self, on: bool) -> StaticFiles {
        self.inner_mut().cache.config_mut().precompressed = on;
        self
    }

    /// How many paths the shard's open-file cache holds (default: 1,024;
    /// 0 turns it off).
    pub fn cache_capacity(mut self, entries: usize) -> StaticFiles {
        self.inner_mut().cache.config_mut().capacity = entries;
        self
    }

    /// How long a cached file is used before it is looked at again on disk
    /// (default: one second).
    pub fn cache_validity(mut self, valid: Duration) -> StaticFiles {
        self.inner_mut().cache.config_mut().valid = valid;
        self
    }

    /// Serves the root at `prefix` (e.g. `/static`) rather than at `/`;
    /// paths outside it get `404`.
    pub fn strip_prefix(mut self, prefix: &str) -> StaticFiles {
        self.inner_mut().prefix = prefix.trim_end_matches('/').to_owned();
        self
    }
}

impl fmt::Debug for StaticFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticFiles")
            .field("prefix", &self.inner.prefix)
            .field("listing", &self.inner.listing)
            .field("hidden", &self.inner.hidden)
            .finish_non_exhaustive()
    }
}

impl Handler for StaticFiles {
    fn call(&self, req: Request) -> LocalBoxFuture<'static, Response> {
        let inner = self.inner.clone();
        Box::pin(async move { inner.serve(req).await })
    }
}

impl Inner {
    async fn serve(&self, req: Request) -> Response {
        if !matches!(req.method(), Method::Get | Method::Head) {
            return Response::error(405).with_header("allow", "GET, HEAD");
        }
        let Some(path) = req.path().strip_prefix(self.prefix.as_str()) else {
            return Response::error(404);
        };
        if !path.is_empty() && !path.starts_with('/') {
            return Response::error(404);
        }
        let Ok(rel) = RelPath::parse(path) else {
            return Response::error(400);
        };
        if rel.hidden && !self.hidden {
            return Response::error(404);
        }
        let entry = match self.cache.get(&rel.rel).await {
            Ok(entry) => entry,
            Err(e) => return error_response(&e),
        };
        match &entry.kind {
            Kind::File(_) if rel.dir => Response::error(404),
            Kind::File(info) => self.file(&req, info),
            Kind::Dir(_) if !rel.dir => {
                let mut location = format!("{}{}", self.prefix, rel.dir_url());
                if let Some(q) = req.query() {
                    location.push('?');
                    location.push_str(q);
                }
                Response::error(301).with_header("location", location)
            }
            Kind::Dir(dir) => {
                let index = if rel.rel == "." {
                    "index.html".to_owned()
                } else {
                    format!("{}/index.html", rel.rel)
                };
                match self.cache.get(&index).await {
                    Ok(e) => match &e.kind {
                        Kind::File(info) => self.file(&req, info),
                        Kind::Dir(_) => Response::error(403),
                    },
                    Err(e) if e.kind() != io::ErrorKind::NotFound => error_response(&e),
                    Err(_) if self.listing => match self.list(dir, rel.dir_url()).await {
                        Ok(html) => Response::html(html),
                        Err(e) => error_response(&e),
                    },
                    Err(_) => Response::error(403),
                }
            }
        }
    }

    /// The listing of `dir`, made on the blocking pool: reading a directory
    /// and `stat`ing its entries are system calls that wait for the disk,
    /// which would stop every connection on the shard.
    async fn list(&self, dir: &File, url_path: String) -> io::Result<String> {
        // A duplicate of the cached fd, owned by the closure: it stays open
        // until the listing is made, even if this request is dropped first.
        let dir = dir.try_clone()?;
        let hidden = self.hidden;
        shardio::spawn_blocking(move || listing::render(&dir, &url_path, hidden)).await
    }

    /// Answers for a regular file: preconditions, then the whole file or
    /// the ranges asked for.
    fn file(&self, req: &Request, info: &FileInfo) -> Response {
        let FileInfo {
            rep,
            content_type,
            br,
            gz,
        } = info;
        let (rep, coding) = choose_encoding(req, rep, br.as_deref(), gz.as_deref());
        let mut res = Response::new(200);
        res.add_header("etag", rep.etag.clone());
        res.add_header("last-modified", rep.last_modified.clone());
        if let Some(cc) = &self.cache_control {
            res.add_header("cache-control", cc.clone());
        }
        if br.is_some() || gz.is_some() {
            res.add_header("vary", "accept-encoding");
        }
        match conditional::evaluate(req, &rep.etag, rep.modified) {
            Precondition::Proceed => {}
            Precondition::NotModified => return res.with_status(304),
            Precondition::Failed => return Response::error(412),
        }
        if let Some(coding) = coding {
            res.add_header("content-encoding", coding);
        }
        res.add_header("accept-ranges", "bytes");
        let ranges = match req.header("range") {
            Some(value)
                if req.method() == Method::Get
                    && conditional::range_allowed(req, &rep.etag, rep.modified) =>
            {
                range::parse(value, rep.len)
            }
            _ => Ranges::Whole,
        };
        // A file kept in memory, or a range of it, goes as bytes.
        let body = |offset: u64, len: u64| match &rep.bytes {
            Some(bytes) => {
                ResponseBody::Bytes(bytes.slice(offset as usize..(offset + len) as usize))
            }
            None => ResponseBody::File {
                file: rep.file.clone(),
                offset,
                len,
            },
        };
        let (status, body) = match ranges {
            Ranges::Whole => {
                res.add_header("content-type", *content_type);
                (200, body(0, rep.len))
            }
            Ranges::One(span) => {
                res.add_header("content-type", *content_type);
                res.add_header("content-range", range::content_range(span, rep.len));
                (206, body(span.0, span.1))
            }
            Ranges::Many(spans) => {
                let (parts, boundary) =
                    range::multipart(rep.file.clone(), &spans, rep.len, content_type);
                res.add_header(
                    "content-type",
                    format!("multipart/byteranges; boundary={boundary}"),
                );
                (206, ResponseBody::FileParts(parts))
            }
            Ranges::Unsatisfiable => {
                let mut err = Response::error(416);
                err.add_header("content-range", format!("bytes */{}", rep.len));
                return err;
            }
        };
        res.set_body(body);
        if rep.cold {
            // `sendfile` would wait for the disk on the shard's thread.
            res.set_file_strategy(shardio_zerocopy::Strategy::Copy);
        }
        res.with_status(status)
    }
}

/// The representation to send: a precompressed sibling where the client
/// accepts its coding at least as much as the others, else the file.
fn choose_encoding<'a>(
    req: &Request,
    plain: &'a Rep,
    br: Option<&'a Rep>,
    gz: Option<&'a Rep>,
) -> (&'a Rep, Option<&'static str>) {
    if br.is_none() && gz.is_none() {
        return (plain, None);
    }
    let Some(accept) = req.header("accept-encoding") else {
        return (plain, None);
    };
    let br_q = br.map_or(0.0, |_| coding_q(accept, &["br"]));
    let gz_q = gz.map_or(0.0, |_| coding_q(accept, &["gzip", "x-gzip"]));
    match (br, gz) {
        (Some(rep), _) if br_q > 0.0 && br_q >= gz_q => (rep, Some("br")),
        (_, Some(rep)) if gz_q > 0.0 => (rep, Some("gzip")),
        _ => (plain, None),
    }
}

/// The status for a failed lookup.
fn error_response(e: &io::Error) -> Response {
    let status = match e.raw_os_error() {
        // Escaping the root (EXDEV) or a symlink loop looks like absence.
        Some(libc::ENOENT | libc::ENOTDIR | libc::EXDEV | libc::ELOOP | libc::ENAMETOOLONG) => 404,
        Some(libc::EACCES | libc::EPERM) => 403,
        // Out of fds: survivable, and worth a retry.
        Some(libc::EMFILE | libc::ENFILE) => 503,
        _ if e.kind() == io::ErrorKind::PermissionDenied => 403,
        _ if e.kind() == io::ErrorKind::NotFound => 404,
        _ => 500,
    };
    Response::error(status)
}
