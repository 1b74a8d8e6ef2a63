//! `Compress`, over real sockets: bodies in memory, streams and files,
//! which responses are compressed, the level, and the cap on streams.

mod util;

use bytes::Bytes;
use futures_channel::mpsc::UnboundedSender;
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use shardio_http::middleware::Compress;
use shardio_http::{Request, Response, Router, StaticFiles};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use util::{Site, TestServer};

/// A gzip body, decoded (its trailer checked) by flate2 and again by a
/// second inflater, which must agree.
fn gunzip(body: &[u8]) -> String {
    let plain = read_text(flate2::read::GzDecoder::new(body));
    assert_eq!(
        plain.as_bytes(),
        independent::gunzip(body),
        "the inflaters disagree"
    );
    plain
}

/// A zlib ("deflate") body, decoded by flate2 and again by a second
/// inflater, which must agree.
fn unzlib(body: &[u8]) -> String {
    let plain = read_text(flate2::read::ZlibDecoder::new(body));
    let again = miniz_oxide::inflate::decompress_to_vec_zlib(body).expect("a zlib stream");
    assert_eq!(plain.as_bytes(), again, "the inflaters disagree");
    plain
}

/// Decoding with miniz_oxide directly: whatever backend flate2 encodes
/// with, the bytes on the wire must be standard gzip and zlib.
mod independent {
    /// RFC 1952: the header (with any optional fields), the raw deflate
    /// data, then the CRC-32 and the length of the plain bytes.
    pub(super) fn gunzip(body: &[u8]) -> Vec<u8> {
        const FHCRC: u8 = 2;
        const FEXTRA: u8 = 4;
        const FNAME: u8 = 8;
        const FCOMMENT: u8 = 16;
        assert!(body.len() >= 18, "too short for gzip: {} bytes", body.len());
        assert_eq!(body[..3], [0x1f, 0x8b, 8], "gzip magic and deflate method");
        let flags = body[3];
        let mut at = 10;
        if flags & FEXTRA != 0 {
            at += 2 + usize::from(u16::from_le_bytes([body[at], body[at + 1]]));
        }
        for field in [FNAME, FCOMMENT] {
            if flags & field != 0 {
                at += body[at..]
                    .iter()
                    .position(|&b| b == 0)
                    .expect("a terminated field")
                    + 1;
            }
        }
        if flags & FHCRC != 0 {
            at += 2;
        }
        let (data, trailer) = body[at..].split_at(body.len() - at - 8);
        let plain = miniz_oxide::inflate::decompress_to_vec(data).expect("a deflate stream");
        let word = |i: usize| u32::from_le_bytes(trailer[i..i + 4].try_into().unwrap());
        assert_eq!(word(0), crc32fast::hash(&plain), "gzip CRC-32");
        assert_eq!(word(4), plain.len() as u32, "gzip ISIZE");
        plain
    }
}

/// A body in `coding` ("gzip" or "deflate"), decoded.
fn decode(coding: &str, body: &[u8]) -> String {
    match coding {
        "gzip" => gunzip(body),
        _ => unzlib(body),
    }
}

/// One `Vary` field, not one from the handler and another from `Compress`.
fn assert_one_vary(r: &util::Reply) {
    let vary: Vec<_> = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("vary"))
        .collect();
    assert_eq!(vary.len(), 1, "{vary:?}");
}

fn read_text(mut decoder: impl Read) -> String {
    let mut plain = String::new();
    decoder.read_to_string(&mut plain).unwrap();
    plain
}

#[test]
fn compression_of_eligible_responses_only() {
    let s = TestServer::start(|| {
        Router::new()
            .middleware(Compress::new())
            .get("/big", |_r: Request| async {
                "hello compression ".repeat(200)
            })
            .get("/tiny", |_r: Request| async { "tiny" })
            .get("/tagged", |_r: Request| async {
                Response::text("tagged ".repeat(300)).with_header("etag", "\"v1\"")
            })
            .get("/weak", |_r: Request| async {
                Response::text("weak ".repeat(300)).with_header("etag", "W/\"v1\"")
            })
            .get("/png", |_r: Request| async {
                Response::with_body("image/png", vec![0u8; 4096])
            })
            .get("/encoded", |_r: Request| async {
                Response::text("x".repeat(4096)).with_header("content-encoding", "br")
            })
    });
    let mut c = s.connect();
    c.send("GET /big HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip;q=0.8, deflate\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(r.header("content-encoding"), Some("deflate"));
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
    let plain = unzlib(&r.body);
    assert_eq!(plain, "hello compression ".repeat(200));
    c.send("GET /big HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let plain = gunzip(&r.body);
    assert_eq!(plain.len(), 18 * 200);
    // A strong validator names the uncompressed bytes: it becomes weak on
    // the compressed ones, and stays as it is on the uncompressed ones.
    c.send("GET /tagged HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("etag"), Some("W/\"v1\""));
    assert_eq!(c.get("/tagged").header("etag"), Some("\"v1\""));
    c.send("GET /weak HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.header("etag"), Some("W/\"v1\""));
    for path in ["/tiny", "/png", "/encoded"] {
        c.send(format!(
            "GET {path} HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n"
        ));
        let r = c.reply().unwrap();
        assert_ne!(r.header("content-encoding"), Some("gzip"), "{path}");
    }
    let r = c.get("/big");
    assert_eq!(
        r.header("content-encoding"),
        None,
        "no Accept-Encoding, no compression"
    );
    assert_eq!(r.header("vary"), Some("Accept-Encoding"));
}

/// Reads one chunk of a chunked body: its bytes, empty for the last.
fn read_chunk(r: &mut impl BufRead) -> Vec<u8> {
    let mut size = String::new();
    r.read_line(&mut size).unwrap();
    let n = usize::from_str_radix(size.trim(), 16).unwrap();
    let mut piece = vec![0; n + 2];
    r.read_exact(&mut piece).unwrap();
    assert_eq!(&piece[n..], b"\r\n");
    piece.truncate(n);
    piece
}

/// A handler for one request that streams, as `content_type`, what the
/// test sends through the returned sender, until the sender is dropped.
fn fed_stream(
    content_type: &'static str,
) -> (
    UnboundedSender<&'static str>,
    impl Fn(Request) -> LocalBoxFuture<'static, Response> + Send + 'static,
) {
    let (tx, rx) = futures_channel::mpsc::unbounded::<&'static str>();
    let rx = Arc::new(Mutex::new(Some(rx)));
    let handler = move |_r: Request| {
        let rx = rx.lock().unwrap().take().expect("one request");
        let pieces = rx.map(|e| Ok(Bytes::from_static(e.as_bytes())));
        let res = Response::stream(pieces).with_header("content-type", content_type);
        Box::pin(async move { res }) as LocalBoxFuture<'static, Response>
    };
    (tx, handler)
}

/// Sends `request` on a new connection and reads the answer's head: the
/// head in lowercase, and the reader left at the body's first byte.
fn open_answer(s: &TestServer, request: &str) -> (String, BufReader<TcpStream>) {
    let conn = TcpStream::connect(s.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    (&conn).write_all(request.as_bytes()).unwrap();
    let mut r = BufReader::new(conn);
    let mut head = String::new();
    while !head.ends_with("\r\n\r\n") {
        r.read_line(&mut head).unwrap();
    }
    (head.to_ascii_lowercase(), r)
}

#[test]
fn compression_of_a_stream_sends_each_piece_as_it_comes() {
    // The handler streams what the test sends it, as server-sent events.
    let (tx, events) = fed_stream("text/event-stream");
    let s = TestServer::start(move || {
        Router::new()
            .middleware(Compress::new())
            .get("/events", events)
            .get("/png-stream", |_r: Request| async {
                let pieces = futures_util::stream::iter([Ok(Bytes::from(vec![7u8; 3000]))]);
                Response::stream(pieces).with_header("content-type", "image/png")
            })
    });
    let (head, mut r) = open_answer(
        &s,
        "GET /events HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n",
    );
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-encoding: gzip\r\n"), "{head}");
    assert!(head.contains("transfer-encoding: chunked\r\n"), "{head}");
    assert!(head.contains("vary: accept-encoding\r\n"), "{head}");

    // Each event decodes as soon as its chunk arrives, while the stream
    // is still open: the compressor is flushed after every piece.
    let mut plain = flate2::write::GzDecoder::new(Vec::new());
    for (i, event) in ["data: one\n\n", "data: two\n\n", "data: three\n\n"]
        .into_iter()
        .enumerate()
    {
        tx.unbounded_send(event).unwrap();
        let before = plain.get_ref().len();
        while plain.get_ref().len() < before + event.len() {
            let chunk = read_chunk(&mut r);
            assert!(!chunk.is_empty(), "the body ended before event {i}");
            plain.write_all(&chunk).unwrap();
            plain.flush().unwrap();
        }
        assert_eq!(&plain.get_ref()[before..], event.as_bytes(), "event {i}");
    }
    // The end of the stream sends the gzip trailer, then the last chunk.
    drop(tx);
    loop {
        let chunk = read_chunk(&mut r);
        if chunk.is_empty() {
            break;
        }
        plain.write_all(&chunk).unwrap();
    }
    let plain = plain
        .finish()
        .expect("a whole gzip stream, trailer checked");
    assert_eq!(plain, b"data: one\n\ndata: two\n\ndata: three\n\n");

    // A type that does not compress streams as it is.
    let mut c = s.connect();
    c.send("GET /png-stream HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
    let reply = c.reply().unwrap();
    assert_eq!(reply.header("content-encoding"), None);
    assert_eq!(reply.body, vec![7u8; 3000]);
}

/// `n` numbered lines, as `/log` streams them.
fn log_lines(n: u32) -> String {
    (0..n).map(|i| format!("line {i}\n")).collect()
}

/// A server whose `/log` streams `n` lines (one piece each) behind
/// `compress`.
fn serve_log(n: u32, compress: Compress) -> TestServer {
    TestServer::start(move || {
        Router::new()
            .middleware(compress)
            .get("/log", move |_r: Request| async move {
                let lines = (0..n).map(|i| Ok(Bytes::from(format!("line {i}\n"))));
                Response::stream(futures_util::stream::iter(lines))
                    .with_header("content-type", "text/plain")
            })
    })
}

#[test]
fn compression_of_a_stream_to_http_1_0_ends_with_the_connection() {
    let s = serve_log(50, Compress::new());
    let mut c = s.connect();
    c.send("GET /log HTTP/1.0\r\nAccept-Encoding: deflate\r\n\r\n");
    let reply = c.reply().unwrap();
    assert_eq!(reply.header("content-encoding"), Some("deflate"));
    assert_eq!(reply.header("content-length"), None);
    let plain = unzlib(&reply.body);
    assert_eq!(plain, log_lines(50));
}

#[test]
fn compression_of_streams_stops_at_the_cap_and_resumes_when_one_ends() {
    // The first stream stays open until the test lets it end.
    let (tx, held) = fed_stream("text/plain");
    let s = TestServer::start(move || {
        Router::new()
            .middleware(Compress::new().max_streams(1))
            .get("/held", held)
            .get("/short", |_r: Request| async {
                let pieces = futures_util::stream::iter([Ok(Bytes::from("short ".repeat(100)))]);
                Response::stream(pieces).with_header("content-type", "text/plain")
            })
    });
    const GZIP: &str = "Host: t\r\nAccept-Encoding: gzip\r\n\r\n";
    let (head, mut r) = open_answer(&s, &format!("GET /held HTTP/1.1\r\n{GZIP}"));
    assert!(head.contains("content-encoding: gzip"), "{head}");

    // The one place is taken: this stream goes out as it is.
    let mut c = s.connect();
    c.send(format!("GET /short HTTP/1.1\r\n{GZIP}"));
    let reply = c.reply().unwrap();
    assert_eq!(reply.header("content-encoding"), None);
    assert_eq!(reply.text(), "short ".repeat(100));

    // The held stream ends; its place is free for the next one.
    drop(tx);
    while !read_chunk(&mut r).is_empty() {}
    c.send(format!("GET /short HTTP/1.1\r\n{GZIP}"));
    let reply = c.reply().unwrap();
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
    let plain = gunzip(&reply.body);
    assert_eq!(plain, "short ".repeat(100));
}

#[test]
fn compression_of_a_streamed_answer_to_head_names_the_coding_and_holds_no_place() {
    let s = serve_log(20, Compress::new().max_streams(1));
    let mut c = s.connect();
    for _ in 0..3 {
        c.send("HEAD /log HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
        let head = c.reply_to(true).unwrap();
        assert_eq!(head.header("content-encoding"), Some("gzip"));
        assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    }
    // The HEAD answers' streams, never polled, gave their place back.
    c.send("GET /log HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n");
    let reply = c.reply().unwrap();
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
    let plain = gunzip(&reply.body);
    assert_eq!(plain, log_lines(20));
}

/// A page of text that compresses, but not to nothing: numbered rows with
/// values that vary.
fn rows(n: u32) -> String {
    (0..n)
        .map(|i| {
            format!(
                "row {i}: value {}, label {}\n",
                i.wrapping_mul(7919) % 1000,
                i % 37
            )
        })
        .collect()
}

#[test]
fn compression_level_trades_size_for_effort() {
    let body = rows(2000);
    let s = TestServer::start(move || {
        let mut router = Router::new();
        for level in [0, 1, 9] {
            let body = body.clone();
            router = router.group(&format!("/{level}"), move |g| {
                g.middleware(Compress::new().level(level))
                    .get("/rows", move |_r: Request| {
                        let body = body.clone();
                        async move { body }
                    })
            });
        }
        router
    });
    let mut c = s.connect();
    let mut sizes = Vec::new();
    for level in [0, 1, 9] {
        for coding in ["gzip", "deflate"] {
            c.send(format!(
                "GET /{level}/rows HTTP/1.1\r\nHost: t\r\nAccept-Encoding: {coding}\r\n\r\n"
            ));
            let r = c.reply().unwrap();
            assert_eq!(r.header("content-encoding"), Some(coding), "level {level}");
            let plain = decode(coding, &r.body);
            assert_eq!(plain, rows(2000), "level {level} {coding}");
            if coding == "gzip" {
                sizes.push(r.body.len());
            }
        }
    }
    // Level 0 stores the bytes as they are (plus framing); 9 packs them
    // tighter than 1.
    let plain = rows(2000).len();
    assert!(sizes[0] > plain, "level 0: {} of {plain} bytes", sizes[0]);
    assert!(
        sizes[1] < plain / 2,
        "level 1: {} of {plain} bytes",
        sizes[1]
    );
    assert!(
        sizes[2] < sizes[1],
        "level 9 ({}) against 1 ({})",
        sizes[2],
        sizes[1]
    );
}

#[test]
fn compression_of_a_stream_as_deflate_over_chunks() {
    let s = serve_log(300, Compress::new());
    let (head, mut r) = open_answer(
        &s,
        "GET /log HTTP/1.1\r\nHost: t\r\nAccept-Encoding: deflate\r\n\r\n",
    );
    assert!(head.contains("content-encoding: deflate\r\n"), "{head}");
    assert!(head.contains("transfer-encoding: chunked\r\n"), "{head}");
    let mut body = Vec::new();
    loop {
        let chunk = read_chunk(&mut r);
        if chunk.is_empty() {
            break;
        }
        body.extend_from_slice(&chunk);
    }
    assert_eq!(unzlib(&body), log_lines(300));
}

/// A site served by `StaticFiles` behind `compress`.
fn serve_compressed(site: &Site, compress: Compress) -> TestServer {
    let root = site.root.clone();
    TestServer::start(move || {
        Router::new()
            .middleware(compress)
            .not_found(StaticFiles::new(root).unwrap())
    })
}

#[test]
fn compression_of_a_file_reads_it_through_the_ring() {
    let site = Site::new("compress-files");
    let page = rows(20_000); // about 600 KB: several reads of the file
    site.write("page.html", &page);
    site.write("small.css", "a { color: red }");
    site.write("photo.png", util::pattern(100_000));
    let s = serve_compressed(&site, Compress::new());
    let mut c = s.connect();

    for coding in ["gzip", "deflate"] {
        let r = c.request(
            "GET",
            "/page.html",
            &[&format!("Accept-Encoding: {coding}")],
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-encoding"), Some(coding));
        assert_eq!(r.header("transfer-encoding"), Some("chunked"));
        assert_eq!(r.header("content-length"), None);
        assert_eq!(
            r.header("accept-ranges"),
            None,
            "ranges of the plain file only"
        );
        assert!(r.header("etag").unwrap().starts_with("W/\""), "a weak tag");
        assert_one_vary(&r);
        let plain = decode(coding, &r.body);
        assert!(plain == page, "{coding}: the file, decoded, differs");
        assert!(
            r.body.len() < page.len() / 3,
            "{coding}: {} bytes",
            r.body.len()
        );
    }

    // Without Accept-Encoding, the file as it is, zero-copy, with ranges.
    let r = c.get("/page.html");
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(
        r.header("content-length"),
        Some(page.len().to_string().as_str())
    );
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    let strong = r.header("etag").unwrap().to_owned();
    assert!(strong.starts_with('"'));

    // A range is a 206 of the plain file, never compressed.
    let r = c.request(
        "GET",
        "/page.html",
        &["Accept-Encoding: gzip", "Range: bytes=10-19"],
    );
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.body, page.as_bytes()[10..20]);

    // The weak tag the compressed answer carried revalidates it.
    let weak = format!("If-None-Match: W/{strong}");
    let r = c.request("GET", "/page.html", &["Accept-Encoding: gzip", &weak]);
    assert_eq!(r.status, 304);

    // Too small, or a type that does not compress: as it is.
    let r = c.request("GET", "/small.css", &["Accept-Encoding: gzip"]);
    assert_eq!(
        (r.header("content-encoding"), r.text().as_str()),
        (None, "a { color: red }")
    );
    let r = c.request("GET", "/photo.png", &["Accept-Encoding: gzip"]);
    assert_eq!(r.header("content-encoding"), None);
    assert!(r.body == util::pattern(100_000));

    // HEAD: the fields of the compressed GET, no body.
    let r = c.request("HEAD", "/page.html", &["Accept-Encoding: gzip"]);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert!(r.body.is_empty());
    let r = c.request("GET", "/page.html", &["Accept-Encoding: gzip"]);
    assert!(
        gunzip(&r.body) == page,
        "the connection is in step after HEAD"
    );
}

#[test]
fn compression_of_files_prefers_a_precompressed_sibling_and_respects_the_cap() {
    let site = Site::new("compress-siblings");
    let script = rows(3000);
    site.write("app.js", &script);
    site.write("app.js.gz", "precompressed bytes");
    site.write("page.txt", &script);
    let s = serve_compressed(&site, Compress::new());
    let mut c = s.connect();
    let r = c.request("GET", "/app.js", &["Accept-Encoding: gzip"]);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.text(), "precompressed bytes", "the sibling, as it is");
    assert_one_vary(&r);

    // No place for an encoder: the file goes out whole and plain.
    let s = serve_compressed(&site, Compress::new().max_streams(0));
    let mut c = s.connect();
    let r = c.request("GET", "/page.txt", &["Accept-Encoding: gzip"]);
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(
        r.header("content-length"),
        Some(script.len().to_string().as_str())
    );
    assert_eq!(r.text(), script);
}

#[test]
fn compression_of_a_file_gives_its_place_back_when_the_client_goes() {
    let site = Site::new("compress-reset");
    let page = rows(200_000); // about 6 MB: far more than the socket holds
    site.write("big.txt", &page);
    let s = serve_compressed(&site, Compress::new().max_streams(1));
    for round in 0..3 {
        // A client takes the one place, reads a little, then resets.
        let (head, mut r) = open_answer(
            &s,
            "GET /big.txt HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n",
        );
        assert!(
            head.contains("content-encoding: gzip"),
            "round {round}: {head}"
        );
        assert!(!read_chunk(&mut r).is_empty());
        let conn = r.into_inner();
        socket2::SockRef::from(&conn)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(conn);
        // The place comes back once the server sees the reset.
        let mut c = s.connect();
        let compressed = (0..200).any(|_| {
            let r = c.request("GET", "/big.txt", &["Accept-Encoding: gzip"]);
            if r.header("content-encoding") == Some("gzip") {
                assert!(gunzip(&r.body) == page, "round {round}");
                true
            } else {
                assert!(
                    r.text() == page,
                    "round {round}: plain while the place is held"
                );
                std::thread::sleep(Duration::from_millis(10));
                false
            }
        });
        assert!(compressed, "round {round}: the reset stream kept its place");
    }
}

#[test]
fn compression_of_a_file_truncated_while_sent_cuts_the_body() {
    let site = Site::new("compress-truncated");
    // Bytes that hardly compress, so the output fills the socket and the
    // server is still reading the file when it shrinks.
    let path = site.write("noise.txt", util::pattern(32 << 20));
    let s = serve_compressed(&site, Compress::new().level(1));
    let (head, mut r) = open_answer(
        &s,
        "GET /noise.txt HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n",
    );
    assert!(head.contains("content-encoding: gzip"), "{head}");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    // The chunks go on until the server finds the file short; then the
    // connection closes with no last chunk: the client sees a cut body,
    // not a whole one.
    let mut body = Vec::new();
    let mut size = String::new();
    let ended = loop {
        size.clear();
        if r.read_line(&mut size).unwrap_or(0) == 0 {
            break false;
        }
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            break true;
        }
        let mut piece = vec![0; n + 2];
        if r.read_exact(&mut piece).is_err() {
            break false;
        }
        body.extend_from_slice(&piece[..n]);
    };
    assert!(!ended, "a last chunk after {} bytes", body.len());
    assert!(body.len() < 32 << 20, "{} bytes", body.len());
}
