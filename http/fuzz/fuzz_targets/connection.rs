//! The whole connection state machine fed arbitrary bytes over a real
//! socket: the server never panics, answers only with well-formed status
//! lines, and always ends the connection once the client has stopped.
//! Every input goes to two servers, one per receive mode, whose answers
//! must be the same (but for dates and multipart boundaries). The router
//! puts `Cors` and `Compress` in front of a text route, a streamed route,
//! an echo protocol behind `101 Switching Protocols` and a directory of
//! static files, so that arbitrary `Origin`, preflight, `Accept-Encoding`,
//! `Range`, conditional and `Upgrade` fields reach their parsers, and what
//! follows a switch reaches the handed-over connection.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shardio_http::middleware::{Compress, Cors};
use shardio_http::{Limits, Receive, Request, Response, Router, Server, StaticFiles, Timeouts};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::Duration;

/// The servers' addresses: one for each receive mode ([`Receive`]), each
/// on a shard of its own.
fn servers() -> [SocketAddr; 3] {
    static ADDRS: OnceLock<[SocketAddr; 3]> = OnceLock::new();
    *ADDRS.get_or_init(|| {
        let site = site();
        [
            serve(Receive::PerWait, site.clone()),
            serve(Receive::Multishot, site.clone()),
            serve(Receive::Adaptive, site),
        ]
    })
}

/// The directory both servers serve: a text file (compressed on the way,
/// or sent as its precompressed sibling), and a binary one.
fn site() -> std::path::PathBuf {
    let root = std::env::temp_dir().join(format!("shardio-fuzz-site-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let text: String = (0..200)
        .map(|i| format!("line {i} of the page\n"))
        .collect();
    std::fs::write(root.join("page.txt"), &text).unwrap();
    std::fs::write(root.join("small.txt"), "short").unwrap();
    std::fs::write(root.join("script.js"), &text).unwrap();
    std::fs::write(root.join("script.js.gz"), b"not really gzip").unwrap();
    std::fs::write(root.join("data.bin"), vec![7u8; 5000]).unwrap();
    root
}

fn serve(receive: Receive, site: std::path::PathBuf) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        shardio::block_on(async move {
            let listener = shardio::net::TcpListener::bind("127.0.0.1:0").unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let router = Router::new()
                .middleware(
                    Cors::origins(["https://app.example"])
                        .allow_credentials(true)
                        .headers(&["x-token"])
                        .max_age(600),
                )
                .middleware(Compress::new().min_size(64))
                .get("/", |_r: Request| async { "root" })
                .get("/text", |_r: Request| async { "some text ".repeat(50) })
                .get("/stream", |_r: Request| async {
                    let lines = (0..20).map(|i| Ok(format!("line {i}\n").into()));
                    Response::stream(futures_util::stream::iter(lines))
                        .with_header("content-type", "text/plain")
                })
                .get("/u/:id", |r: Request| async move {
                    r.param("id").unwrap_or_default().into_owned()
                })
                .post("/echo", |mut r: Request| async move {
                    r.take_body().collect().await
                })
                .get("/up", |req: Request| async move {
                    if req.upgrade().is_none() {
                        return Response::error(426).with_header("upgrade", "echo");
                    }
                    switch(&req)
                })
                // Switches whether asked or not: refused unless asked.
                .post("/up-any", |req: Request| async move { switch(&req) })
                .not_found(StaticFiles::new(site).unwrap());
            let limits = Limits {
                max_body: 64 * 1024,
                ..Limits::default()
            };
            let timeouts = Timeouts {
                header: Duration::from_millis(500),
                body_read: Duration::from_millis(500),
                idle: Duration::from_millis(500),
                write: Duration::from_millis(500),
            };
            Server::new()
                .limits(limits)
                .timeouts(timeouts)
                .receive(receive)
                .serve_until(listener, router, std::future::pending())
                .await
                .unwrap();
        })
        .unwrap();
    });
    rx.recv().unwrap()
}

/// A `101` whose connection echoes what the client sends after the
/// request until the client ends its side.
fn switch(req: &Request) -> Response {
    let (res, on_upgrade) = Response::upgrade(req, "echo");
    shardio::spawn_detached(async move {
        let Ok(mut conn) = on_upgrade.await else {
            return;
        };
        while let Ok(Some(chunk)) = conn.read().await {
            if conn.write_all(chunk).await.0.is_err() {
                return;
            }
        }
    });
    res
}

/// Sends `data`, ends the write side, and reads until the server closes.
/// `None`: the server reset the connection (it closed with bytes unread),
/// so how much of its answer arrived first is a race.
fn exchange(addr: SocketAddr, data: &[u8]) -> Option<Vec<u8>> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // The server may close early (a bad request): a failed write is fine.
    let _ = s.write_all(data);
    let _ = s.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    match s.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
        Err(e) => panic!("the server neither answered nor closed: {e}"),
    }
    if !out.is_empty() {
        assert!(
            out.starts_with(b"HTTP/1.1 ") || out.starts_with(b"HTTP/1.0 "),
            "not a status line: {:?}",
            String::from_utf8_lossy(&out[..out.len().min(64)])
        );
    }
    Some(out)
}

/// The answer with every `date` field's value blanked: the two servers
/// may answer in different seconds.
fn without_dates(out: &[u8]) -> Vec<u8> {
    let mut rest = out;
    let mut kept = Vec::with_capacity(out.len());
    while let Some(at) = find(rest, b"\r\ndate: ") {
        let value = at + b"\r\ndate: ".len();
        kept.extend_from_slice(&rest[..value]);
        rest = &rest[value..];
        let end = find(rest, b"\r\n").unwrap_or(rest.len());
        rest = &rest[end..];
    }
    kept.extend_from_slice(rest);
    kept
}

/// The answer with every `multipart/byteranges` boundary (random per
/// answer) replaced by the same word, wherever it occurs.
fn without_boundaries(out: &[u8]) -> Vec<u8> {
    let mut out = out.to_vec();
    let mut from = 0;
    while let Some(at) = find(&out[from..], b"boundary=") {
        let start = from + at + b"boundary=".len();
        let len = out[start..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .unwrap_or(out.len() - start);
        let token = out[start..start + len].to_vec();
        from = start;
        if token.is_empty() {
            continue;
        }
        let mut replaced = Vec::with_capacity(out.len());
        let mut rest = &out[..];
        while let Some(i) = find(rest, &token) {
            replaced.extend_from_slice(&rest[..i]);
            replaced.extend_from_slice(b"BOUNDARY");
            rest = &rest[i + token.len()..];
        }
        replaced.extend_from_slice(rest);
        out = replaced;
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    // Every receive mode sees the same bytes and must answer alike.
    let answers = servers().map(|addr| exchange(addr, data));
    if let [Some(a), Some(b), Some(c)] = &answers {
        let a = without_boundaries(&without_dates(a));
        assert_eq!(a, without_boundaries(&without_dates(b)), "multishot answered differently");
        assert_eq!(a, without_boundaries(&without_dates(c)), "adaptive answered differently");
    }
});
