//! Static files: validators, conditional requests, ranges, and the
//! open-file cache noticing changes.

mod util;

use std::time::Duration;
use util::{pattern, Client, Site};

const LEN: usize = 10_000;

fn served(name: &str) -> (Site, util::TestServer) {
    let site = Site::new(name);
    site.write("data.bin", pattern(LEN));
    let server = site.serve(|f| f.cache_control("max-age=60"));
    (site, server)
}

fn validators(c: &mut Client) -> (String, String) {
    let r = c.get("/data.bin");
    assert_eq!(r.status, 200);
    let etag = r.header("etag").expect("an ETag").to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );
    let lm = r.header("last-modified").expect("Last-Modified").to_owned();
    assert_eq!(r.header("cache-control"), Some("max-age=60"));
    assert_eq!(r.header("accept-ranges"), Some("bytes"));
    (etag, lm)
}

#[test]
fn conditional_requests() {
    let (_site, server) = served("conditional");
    let mut c = server.connect();
    let (etag, lm) = validators(&mut c);
    let old = "Thu, 01 Jan 1998 00:00:00 GMT";
    let future = "Fri, 01 Jan 2100 00:00:00 GMT";
    let inm = format!("If-None-Match: {etag}");
    let inm_list = format!("If-None-Match: \"nope\", W/{etag}");
    let ims = format!("If-Modified-Since: {lm}");
    let im = format!("If-Match: {etag}");
    let ius_old = format!("If-Unmodified-Since: {old}");
    let ius_future = format!("If-Unmodified-Since: {future}");
    let ims_future = format!("If-Modified-Since: {future}");
    let ims_old = format!("If-Modified-Since: {old}");
    let im_weak = format!("If-Match: W/{etag}");
    let cases: Vec<(Vec<&str>, u16)> = vec![
        (vec![&inm], 304),
        (vec![&inm_list], 304),
        (vec!["If-None-Match: *"], 304),
        (vec!["If-None-Match: \"nope\""], 200),
        (vec![&ims], 304),
        (vec![&ims_future], 304),
        (vec![&ims_old], 200),
        (vec!["If-Modified-Since: not a date"], 200),
        // If-None-Match wins over If-Modified-Since.
        (vec!["If-None-Match: \"nope\"", &ims], 200),
        (vec![&im], 200),
        (vec!["If-Match: *"], 200),
        (vec!["If-Match: \"nope\""], 412),
        (vec![&im_weak], 412),
        (vec![&ius_old], 412),
        (vec![&ius_future], 200),
        // If-Match wins over If-Unmodified-Since.
        (vec![&im, &ius_old], 200),
        (vec!["If-Match: \"nope\"", &inm], 412),
    ];
    for (fields, want) in cases {
        let r = c.request("GET", "/data.bin", &fields);
        assert_eq!(r.status, want, "{fields:?}");
        match want {
            304 => {
                assert!(r.body.is_empty());
                assert_eq!(r.header("etag"), Some(etag.as_str()));
                assert_eq!(r.header("cache-control"), Some("max-age=60"));
            }
            200 => assert_eq!(r.body, pattern(LEN), "{fields:?}"),
            _ => {}
        }
    }
    // HEAD follows the same rules.
    let r = c.request("HEAD", "/data.bin", &[&inm]);
    assert_eq!(r.status, 304);
}

#[test]
fn single_ranges() {
    let (_site, server) = served("ranges");
    let mut c = server.connect();
    let whole = pattern(LEN);
    for (spec, start, end) in [
        ("bytes=0-99", 0, 99),
        ("bytes=9990-", 9990, 9999),
        ("bytes=-10", 9990, 9999),
        ("bytes=5000-99999", 5000, 9999),
        ("bytes=-20000", 0, 9999),
        ("bytes=7-7", 7, 7),
    ] {
        let r = c.request("GET", "/data.bin", &[&format!("Range: {spec}")]);
        assert_eq!(r.status, 206, "{spec}");
        assert_eq!(
            r.header("content-range").unwrap(),
            format!("bytes {start}-{end}/{LEN}"),
            "{spec}"
        );
        assert_eq!(r.header("content-type"), Some("application/octet-stream"));
        assert_eq!(r.body, &whole[start..=end], "{spec}");
    }
    for spec in ["bytes=10000-", "bytes=20000-30000", "bytes=-0"] {
        let r = c.request("GET", "/data.bin", &[&format!("Range: {spec}")]);
        assert_eq!(r.status, 416, "{spec}");
        assert_eq!(r.header("content-range").unwrap(), format!("bytes */{LEN}"));
    }
    // Malformed, another unit, overlapping, too many: the whole file.
    let many: Vec<String> = (0..17)
        .map(|i| format!("{}-{}", i * 10, i * 10 + 1))
        .collect();
    let many = format!("bytes={}", many.join(","));
    for spec in [
        "bytes=5-1",
        "bytes=x-y",
        "items=0-1",
        "bytes=0-500,100-200",
        &many,
    ] {
        let r = c.request("GET", "/data.bin", &[&format!("Range: {spec}")]);
        assert_eq!(r.status, 200, "{spec}");
        assert_eq!(r.body, whole, "{spec}");
    }
    // A range is ignored for HEAD.
    let r = c.request("HEAD", "/data.bin", &["Range: bytes=0-1"]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("10000"));
}

#[test]
fn if_range() {
    let (_site, server) = served("if-range");
    let mut c = server.connect();
    let (etag, lm) = validators(&mut c);
    for (if_range, want) in [
        (etag.clone(), 206),
        (lm.clone(), 206),
        ("\"stale\"".to_owned(), 200),
        (format!("W/{etag}"), 200),
        ("Thu, 01 Jan 1998 00:00:00 GMT".to_owned(), 200),
    ] {
        let r = c.request(
            "GET",
            "/data.bin",
            &["Range: bytes=0-9", &format!("If-Range: {if_range}")],
        );
        assert_eq!(r.status, want, "{if_range}");
        let expect = if want == 206 { 10 } else { LEN };
        assert_eq!(r.body.len(), expect);
    }
}

#[test]
fn multiple_ranges_are_multipart() {
    let (_site, server) = served("multipart");
    let mut c = server.connect();
    let whole = pattern(LEN);
    let r = c.request("GET", "/data.bin", &["Range: bytes=9000-9099, 0-9, -5"]);
    assert_eq!(r.status, 206);
    let ct = r.header("content-type").unwrap();
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .expect(ct)
        .to_owned();
    let delimiter = format!("\r\n--{boundary}");
    let mut body = r.body.as_slice();
    let mut parts = Vec::new();
    loop {
        assert!(body.starts_with(delimiter.as_bytes()));
        body = &body[delimiter.len()..];
        if body == b"--\r\n" {
            break;
        }
        let head_end = find(body, b"\r\n\r\n").unwrap();
        let head = std::str::from_utf8(&body[2..head_end]).unwrap().to_owned();
        let range = head
            .lines()
            .find_map(|l| l.strip_prefix("content-range: bytes "))
            .unwrap()
            .to_owned();
        assert!(head.contains("content-type: application/octet-stream"));
        let (span, total) = range.split_once('/').unwrap();
        assert_eq!(total, "10000");
        let (a, b) = span.split_once('-').unwrap();
        let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
        body = &body[head_end + 4..];
        assert_eq!(&body[..b - a + 1], &whole[a..=b], "part {a}-{b}");
        body = &body[b - a + 1..];
        parts.push((a, b));
    }
    // In the order asked for.
    assert_eq!(parts, [(9000, 9099), (0, 9), (9995, 9999)]);
    // The connection's framing held: the next request is answered.
    assert_eq!(c.get("/data.bin").body, whole);
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn the_cache_sees_a_changed_file() {
    let site = Site::new("revalidate");
    let path = site.write("v.txt", "version one");
    let server = site.serve(|f| f.cache_validity(Duration::from_millis(100)));
    let mut c = server.connect();
    let first = c.get("/v.txt");
    assert_eq!(first.text(), "version one");
    // Replaced by rename, as deploys do; and a new file appears.
    let tmp = site.write("v.tmp", "version two!");
    std::fs::rename(&tmp, &path).unwrap();
    site.write("new.txt", "new");
    std::thread::sleep(Duration::from_millis(250));
    let second = c.get("/v.txt");
    assert_eq!(second.text(), "version two!");
    assert_ne!(first.header("etag"), second.header("etag"));
    assert_eq!(c.get("/new.txt").text(), "new");
    std::fs::remove_file(&path).unwrap();
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(c.get("/v.txt").status, 404);
}

#[test]
fn a_cached_file_costs_no_lookup_while_fresh() {
    let site = Site::new("cached");
    let path = site.write("hot.txt", "hot bytes");
    let server = site.serve(|f| f.cache_validity(Duration::from_secs(60)));
    let mut c = server.connect();
    assert_eq!(c.get("/hot.txt").text(), "hot bytes");
    // Gone from disk, but the cache still holds the open file: it was not
    // looked up again.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(c.get("/hot.txt").text(), "hot bytes");
    // With the cache off, every request looks the file up.
    let site = Site::new("uncached");
    let path = site.write("hot.txt", "hot bytes");
    let server = site.serve(|f| f.cache_capacity(0));
    let mut c = server.connect();
    assert_eq!(c.get("/hot.txt").text(), "hot bytes");
    std::fs::remove_file(&path).unwrap();
    assert_eq!(c.get("/hot.txt").status, 404);
}
