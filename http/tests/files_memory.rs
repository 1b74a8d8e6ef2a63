//! Static files kept in memory by the open-file cache (up to 16 KiB by
//! default): answered with no file transfer at all, whole or by range,
//! always matching their `ETag`, read again at revalidation.

mod util;

use shardio_http::{Request, Router, StaticFiles};
use std::time::Duration;
use util::{pattern, Site, TestServer};

/// The server shard's zero-copy counters: bytes by sendfile, splice and
/// copy, all together.
fn file_bytes(server: &TestServer) -> u64 {
    server.connect().get("/stats").text().parse().unwrap()
}

fn serve(site: &Site, configure: fn(StaticFiles) -> StaticFiles) -> TestServer {
    let root = site.root.clone();
    TestServer::start(move || {
        Router::new()
            .get("/stats", |_r: Request| async {
                let s = shardio_zerocopy::stats();
                (s.sendfile_bytes + s.spliced_bytes + s.copied_bytes).to_string()
            })
            .not_found(configure(StaticFiles::new(root).unwrap()))
    })
}

#[test]
fn small_files_are_answered_from_memory_whole_by_range_and_to_head() {
    let site = Site::new("memory");
    let small = pattern(4096);
    let edge = pattern(16 << 10);
    let over = pattern((16 << 10) + 1);
    site.write("small.bin", &small);
    site.write("edge.bin", &edge);
    site.write("over.bin", &over);
    site.write("page.txt", "plain text");
    site.write("page.txt.gz", b"\x1f\x8b pretend gzip");
    let server = serve(&site, |f| f);
    let mut c = server.connect();
    let before = file_bytes(&server);

    let r = c.get("/small.bin");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("4096"));
    assert!(r.body == small);
    let r = c.get("/edge.bin");
    assert!(r.body == edge, "a file of exactly the limit");
    let r = c.request("GET", "/small.bin", &["Range: bytes=100-199"]);
    assert_eq!(r.status, 206);
    assert_eq!(r.header("content-range"), Some("bytes 100-199/4096"));
    assert!(r.body == small[100..200]);
    let r = c.request("GET", "/small.bin", &["Range: bytes=-10"]);
    assert!(r.body == small[4086..]);
    let r = c.request("HEAD", "/small.bin", &[]);
    assert_eq!(r.header("content-length"), Some("4096"));
    assert!(r.body.is_empty());
    // A precompressed sibling is kept too.
    let r = c.request("GET", "/page.txt", &["Accept-Encoding: gzip"]);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(r.body, b"\x1f\x8b pretend gzip");
    assert_eq!(
        file_bytes(&server),
        before,
        "a file in memory was transferred"
    );

    // One byte over the limit goes through the zero-copy path.
    let r = c.get("/over.bin");
    assert!(r.body == over);
    assert_eq!(file_bytes(&server) - before, over.len() as u64);

    // Several ranges make a multipart body from the file.
    let r = c.request("GET", "/small.bin", &["Range: bytes=0-9,20-29"]);
    assert_eq!(r.status, 206);
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert!(text.contains("content-range: bytes 0-9/4096"), "{text}");
    assert!(text.contains("content-range: bytes 20-29/4096"), "{text}");
}

#[test]
fn in_memory_max_zero_sends_every_file_from_disk() {
    let site = Site::new("memory-off");
    let small = pattern(4096);
    site.write("small.bin", &small);
    let server = serve(&site, |f| f.in_memory_max(0));
    let before = file_bytes(&server);
    assert!(server.connect().get("/small.bin").body == small);
    assert_eq!(file_bytes(&server) - before, 4096);
}

#[test]
fn kept_bytes_match_their_etag_and_change_at_revalidation() {
    let site = Site::new("memory-rewrite");
    let path = site.write("a.txt", "first version");
    // Never revalidated: a file rewritten in place keeps its old bytes
    // and its old tag, together.
    let steady = serve(&site, |f| f.cache_validity(Duration::from_secs(3600)));
    // Revalidated at every request: the new bytes, with a new tag.
    let fresh = serve(&site, |f| f.cache_validity(Duration::ZERO));
    let mut c = steady.connect();
    let mut d = fresh.connect();
    let old = c.get("/a.txt");
    let old_tag = old.header("etag").unwrap().to_owned();
    assert_eq!(old.body, b"first version");
    assert_eq!(d.get("/a.txt").header("etag"), Some(old_tag.as_str()));

    std::thread::sleep(Duration::from_millis(20)); // a new mtime
    std::fs::write(&path, "second, longer version").unwrap();
    let r = c.get("/a.txt");
    assert_eq!(r.body, b"first version");
    assert_eq!(r.header("etag"), Some(old_tag.as_str()));
    let r = d.get("/a.txt");
    assert_eq!(r.body, b"second, longer version");
    assert_ne!(r.header("etag"), Some(old_tag.as_str()));
    assert_eq!(r.header("content-length"), Some("22"));
}
