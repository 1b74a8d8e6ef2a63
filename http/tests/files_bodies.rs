//! Static files: bodies (a 64 MiB file byte-exact, through the zero-copy
//! path), content types, and precompressed siblings.

mod util;

use util::{pattern, Site};

#[test]
fn a_64_mib_file_arrives_byte_exact() {
    let site = Site::new("big");
    let data = pattern(64 << 20);
    site.write("big.bin", &data);
    let server = site.serve(|f| f);
    let mut c = server.connect();
    let r = c.get("/big.bin");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("67108864"));
    assert!(r.body == data, "the body differs from the file");
    // A range from the middle, then the connection is still in step.
    let r = c.request("GET", "/big.bin", &["Range: bytes=33554000-33654000"]);
    assert_eq!(r.status, 206);
    assert!(r.body == data[33554000..=33654000]);
    let r = c.get("/big.bin");
    assert!(r.body == data);
}

#[test]
fn content_types() {
    let site = Site::new("types");
    let files = [
        ("index.html", "text/html; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("data.json", "application/json; charset=utf-8"),
        ("notes.txt", "text/plain; charset=utf-8"),
        ("logo.png", "image/png"),
        ("font.woff2", "font/woff2"),
        ("module.wasm", "application/wasm"),
        ("Makefile", "application/octet-stream"),
        ("blob.unknownext", "application/octet-stream"),
    ];
    for (name, _) in files {
        site.write(name, name);
    }
    let server = site.serve(|f| f);
    let mut c = server.connect();
    for (name, ct) in files {
        let r = c.get(&format!("/{name}"));
        assert_eq!(r.header("content-type"), Some(ct), "{name}");
        assert_eq!(r.text(), name);
    }
    // An empty file is a 200 with an empty body.
    site.write("empty.txt", "");
    let r = c.get("/empty.txt");
    assert_eq!((r.status, r.header("content-length")), (200, Some("0")));
}

#[test]
fn precompressed_siblings() {
    let site = Site::new("precompressed");
    site.write("app.js", "plain js");
    site.write("app.js.gz", "gzip bytes");
    site.write("app.js.br", "brotli bytes");
    site.write("only-gz.css", "plain css");
    site.write("only-gz.css.gz", "gz css");
    site.write("alone.txt", "alone");
    let server = site.serve(|f| f);
    let mut c = server.connect();
    let ae = |v: &str| format!("Accept-Encoding: {v}");
    for (path, accept, body, coding) in [
        ("/app.js", None, "plain js", None),
        ("/app.js", Some("gzip"), "gzip bytes", Some("gzip")),
        ("/app.js", Some("gzip, br"), "brotli bytes", Some("br")),
        (
            "/app.js",
            Some("br;q=0.5, gzip"),
            "gzip bytes",
            Some("gzip"),
        ),
        ("/app.js", Some("br;q=0, gzip;q=0"), "plain js", None),
        ("/app.js", Some("identity"), "plain js", None),
        ("/app.js", Some("*"), "brotli bytes", Some("br")),
        ("/only-gz.css", Some("br"), "plain css", None),
        ("/only-gz.css", Some("br, gzip"), "gz css", Some("gzip")),
    ] {
        let fields: Vec<String> = accept.map(ae).into_iter().collect();
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        let r = c.request("GET", path, &fields);
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), body, "{path} {accept:?}");
        assert_eq!(r.header("content-encoding"), coding, "{path} {accept:?}");
        assert_eq!(r.header("vary"), Some("accept-encoding"));
        let ct = if path.ends_with(".js") {
            "text/javascript; charset=utf-8"
        } else {
            "text/css; charset=utf-8"
        };
        assert_eq!(r.header("content-type"), Some(ct));
    }
    // Each representation has its own tag.
    let plain = c.get("/app.js").header("etag").unwrap().to_owned();
    let gz = c.request("GET", "/app.js", &[&ae("gzip")]);
    assert_ne!(gz.header("etag").unwrap(), plain);
    // No sibling, no Vary; and the siblings are files of their own too.
    assert_eq!(c.get("/alone.txt").header("vary"), None);
    assert_eq!(c.get("/app.js.gz").text(), "gzip bytes");
    let site_off = Site::new("precompressed-off");
    site_off.write("a.js", "plain");
    site_off.write("a.js.gz", "gz");
    let server = site_off.serve(|f| f.precompressed(false));
    let r = server.connect().request("GET", "/a.js", &[&ae("gzip")]);
    assert_eq!((r.text().as_str(), r.header("vary")), ("plain", None));
}
