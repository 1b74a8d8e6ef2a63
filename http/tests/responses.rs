//! Responses: HEAD, Date, streamed (chunked / close-delimited), files,
//! status codes without bodies, and fields that could split a response.

mod util;

use bytes::Bytes;
use shardio_http::{Request, Response, Router};
use std::io::Write;
use std::rc::Rc;
use util::TestServer;

fn server(file: std::path::PathBuf) -> TestServer {
    TestServer::start(move || {
        let file = Rc::new(std::fs::File::open(file).unwrap());
        Router::new()
            .get("/", |_r: Request| async { "Hello" })
            .get("/stream", |_r: Request| async {
                let pieces = (0..3).map(|i| Ok(Bytes::from(format!("piece{i};"))));
                Response::stream(futures_util::stream::iter(pieces))
            })
            .get("/file", move |_r: Request| {
                let file = file.clone();
                async move { Response::file(file, 10, 1000) }
            })
            .get("/nocontent", |_r: Request| async { Response::new(204) })
            .get("/big", |_r: Request| async {
                Response::with_body("application/octet-stream", util::pattern(100_000))
            })
            .get("/html", |_r: Request| async {
                let mut res = Response::text("<p>");
                res.set_header("Content-Type", "text/html");
                res.add_header("x-a", "1");
                res
            })
            .get("/split", |_r: Request| async {
                Response::text("x").with_header("x-a", "b\r\nx-evil: 1")
            })
    })
}

fn fixture() -> (tempfile_path::Guard, std::path::PathBuf) {
    // Tests run in parallel: each gets its own file.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("shardio-http-resp-{}-{n}", std::process::id()));
    let mut f = std::fs::File::create(&path).unwrap();
    let data: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
    f.write_all(&data).unwrap();
    (tempfile_path::Guard(path.clone()), path)
}

mod tempfile_path {
    pub(crate) struct Guard(pub(crate) std::path::PathBuf);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

#[test]
fn head_has_the_get_head_and_no_body() {
    let (_g, path) = fixture();
    let s = server(path);
    let mut c = s.connect();
    c.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.reply_to(true).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("5"));
    // No body bytes: the next response follows at once.
    assert_eq!(c.get("/").text(), "Hello");
    c.send("HEAD /file HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(
        c.reply_to(true).unwrap().header("content-length"),
        Some("1000")
    );
    assert_eq!(c.get("/").text(), "Hello");
}

#[test]
fn date_is_an_imf_fixdate() {
    let (_g, path) = fixture();
    let s = server(path);
    let r = s.connect().get("/");
    let date = r.header("date").unwrap();
    assert_eq!(date.len(), 29, "{date}");
    assert!(date.ends_with(" GMT"));
    let parsed = httpdate_parse(date);
    assert!(parsed, "{date}");
}

#[test]
fn date_is_refreshed_every_second() {
    let (_g, path) = fixture();
    let s = server(path);
    let mut c = s.connect();
    let first = c.get("/").header("date").unwrap().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let later = c.get("/").header("date").unwrap().to_owned();
    assert_ne!(first, later, "the cached Date was not refreshed");
}

fn httpdate_parse(s: &str) -> bool {
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    let b = s.as_bytes();
    b[3] == b',' && b[4] == b' ' && b[7] == b' ' && b[11] == b' ' && b[16] == b' ' && b[19] == b':'
}

#[test]
fn streams_are_chunked_for_11_and_close_delimited_for_10() {
    let (_g, path) = fixture();
    let s = server(path);
    let mut c = s.connect();
    let r = c.get("/stream");
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.text(), "piece0;piece1;piece2;");
    assert_eq!(c.get("/").text(), "Hello", "the connection is reused");

    let mut c = s.connect();
    c.send("GET /stream HTTP/1.0\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.text(), "piece0;piece1;piece2;");
}

#[test]
fn file_ranges_go_out_whole() {
    let (_g, path) = fixture();
    let s = server(path);
    let mut c = s.connect();
    let r = c.get("/file");
    let want: Vec<u8> = (10..1010u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(r.body, want);
    assert_eq!(c.get("/").text(), "Hello");
}

#[test]
fn no_content_has_no_length_and_bad_fields_become_500() {
    let (_g, path) = fixture();
    let s = server(path);
    let mut c = s.connect();
    let r = c.get("/nocontent");
    assert_eq!(r.status, 204);
    assert_eq!(r.header("content-length"), None);
    let r = c.get("/split");
    assert_eq!(r.status, 500);
    assert_eq!(r.header("x-evil"), None);
}

/// Bodies sent from their own buffer (16 KiB and up) and bodies copied into
/// the output buffer, pipelined in one write: every reply in order, the
/// large body byte-exact, and a HEAD of it with its length and no body.
#[test]
fn large_and_small_bodies_pipelined_stay_in_order() {
    let (_g, path) = fixture();
    let s = server(path);
    let mut c = s.connect();
    c.send(
        "GET /big HTTP/1.1\r\nHost: t\r\n\r\n\
         GET / HTTP/1.1\r\nHost: t\r\n\r\n\
         HEAD /big HTTP/1.1\r\nHost: t\r\n\r\n\
         GET / HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let big = c.reply().unwrap();
    assert_eq!(big.body, util::pattern(100_000));
    assert_eq!(c.reply().unwrap().text(), "Hello");
    let head = c.reply_to(true).unwrap();
    assert_eq!(head.header("content-length"), Some("100000"));
    assert_eq!(c.reply().unwrap().text(), "Hello");
}

/// `set_header` replaces the content type a constructor gave; it goes
/// out once, before the other fields.
#[test]
fn a_replaced_content_type_goes_out_once() {
    let (_g, path) = fixture();
    let s = server(path);
    let mut c = s.connect();
    c.send("GET /html HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = c.reply().unwrap();
    assert_eq!(r.text(), "<p>");
    let types: Vec<_> = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .collect();
    assert_eq!(types.len(), 1, "{:?}", r.headers);
    assert_eq!(r.header("content-type"), Some("text/html"));
    let at = |name: &str| {
        r.headers
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    assert!(at("content-type") < at("x-a"));
}
