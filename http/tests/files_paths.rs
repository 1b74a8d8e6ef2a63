//! Static files: what a request path may reach (only files beneath the
//! root), methods, hidden names, directories and listings.

mod util;

use std::os::unix::fs::symlink;
use util::Site;

const SECRET: &str = "the-secret-outside-the-root";

/// A site with a secret file next to (outside) its root, and symlinks that
/// try to reach it.
fn site(name: &str) -> (Site, std::path::PathBuf) {
    let site = Site::new(name);
    let outside = site.root.with_extension("outside");
    let _ = std::fs::remove_dir_all(&outside);
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), SECRET).unwrap();
    site.write("index.html", "<h1>home</h1>");
    site.write("a.txt", "plain a");
    site.write("sub/index.html", "sub index");
    site.write("sub/deep/x.txt", "deep x");
    site.write("sp ace.txt", "spaced");
    site.write("café.txt", "accented");
    site.write(".env", "TOKEN=1");
    site.write(".git/config", "[core]");
    std::fs::create_dir_all(site.root.join("empty")).unwrap();
    symlink(outside.join("secret.txt"), site.root.join("abs-link")).unwrap();
    symlink(
        "../".to_owned() + outside.file_name().unwrap().to_str().unwrap() + "/secret.txt",
        site.root.join("rel-link"),
    )
    .unwrap();
    symlink(&outside, site.root.join("dir-link")).unwrap();
    symlink("a.txt", site.root.join("inner-link")).unwrap();
    (site, outside)
}

#[test]
fn no_path_reaches_outside_the_root() {
    let (site, outside) = site("traversal");
    let server = site.serve(|f| f);
    let mut c = server.connect();
    let name = outside.file_name().unwrap().to_str().unwrap().to_owned();
    let attempts = [
        format!("/../{name}/secret.txt"),
        format!("/sub/../../{name}/secret.txt"),
        format!("/%2e%2e/{name}/secret.txt"),
        format!("/%2E%2E%2F{name}%2Fsecret.txt"),
        format!("/sub%2F..%2F..%2F{name}/secret.txt"),
        format!("/..%5c{name}%5csecret.txt"),
        format!("/..\\{name}\\secret.txt"),
        format!("/%c0%ae%c0%ae/{name}/secret.txt"),
        format!("/%e0%80%ae%e0%80%ae/{name}/secret.txt"),
        "/a.txt%00.html".to_owned(),
        "/abs-link".to_owned(),
        "/rel-link".to_owned(),
        "/dir-link/secret.txt".to_owned(),
        "/dir-link/".to_owned(),
    ];
    for path in &attempts {
        let r = c.request("GET", path, &[]);
        assert!(
            matches!(r.status, 400 | 403 | 404),
            "{path}: {} {}",
            r.status,
            r.text()
        );
        assert!(!r.text().contains(SECRET), "{path} leaked the secret");
    }
    // The refusals left the connection usable, and a symlink that stays
    // inside the root works.
    let r = c.get("/inner-link");
    assert_eq!((r.status, r.text().as_str()), (200, "plain a"));
    std::fs::remove_dir_all(outside).unwrap();
}

#[test]
fn paths_are_percent_decoded_and_the_query_ignored() {
    let (site, outside) = site("decode");
    let server = site.serve(|f| f);
    let mut c = server.connect();
    for (path, body) in [
        ("/a.txt?v=2", "plain a"),
        ("/sp%20ace.txt", "spaced"),
        ("/caf%C3%A9.txt", "accented"),
        ("//sub/./deep//x.txt", "deep x"),
        ("/sub%2Fdeep%2Fx.txt", "deep x"),
        ("/", "<h1>home</h1>"),
    ] {
        let r = c.get(path);
        assert_eq!((r.status, r.text().as_str()), (200, body), "{path}");
    }
    assert_eq!(c.get("/missing.txt").status, 404);
    assert_eq!(c.get("/a.txt/").status, 404);
    std::fs::remove_dir_all(outside).unwrap();
}

#[test]
fn hidden_names_only_when_asked_for() {
    let (site, outside) = site("hidden");
    {
        let server = site.serve(|f| f);
        let mut c = server.connect();
        assert_eq!(c.get("/.env").status, 404);
        assert_eq!(c.get("/.git/config").status, 404);
        assert_eq!(c.get("/%2egit/config").status, 404);
    }
    let server = site.serve(|f| f.hidden(true));
    let mut c = server.connect();
    assert_eq!(c.get("/.env").text(), "TOKEN=1");
    assert_eq!(c.get("/.git/config").text(), "[core]");
    std::fs::remove_dir_all(outside).unwrap();
}

#[test]
fn only_get_and_head() {
    let (site, outside) = site("methods");
    let server = site.serve(|f| f);
    let mut c = server.connect();
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let mut fields = vec![];
        if method != "OPTIONS" {
            fields.push("Content-Length: 0");
        }
        let r = c.request(method, "/a.txt", &fields);
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"), "{method}");
    }
    // `OPTIONS *` reaches the files handler too (it is the router's
    // fallback), and gets the same answer: the server serves GET and HEAD.
    let r = c.request("OPTIONS", "*", &[]);
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    let r = c.request("HEAD", "/a.txt", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("7"));
    assert!(r.body.is_empty());
    // The HEAD sent no body: the next response starts right after it.
    assert_eq!(c.get("/a.txt").text(), "plain a");
    std::fs::remove_dir_all(outside).unwrap();
}

#[test]
fn directories() {
    let (site, outside) = site("dirs");
    site.write("list/<b>&\"q\".txt", "x");
    site.write("list/z.txt", "zz");
    site.write("list/.hidden", "h");
    std::fs::create_dir_all(site.root.join("list/inner dir")).unwrap();
    {
        let server = site.serve(|f| f);
        let mut c = server.connect();
        let r = c.get("/sub");
        assert_eq!(r.status, 301);
        assert_eq!(r.header("location"), Some("/sub/"));
        let r = c.get("/sub/deep?x=1");
        assert_eq!(r.header("location"), Some("/sub/deep/?x=1"));
        let r = c.get("//evil.example");
        assert_eq!(r.status, 404);
        assert_eq!(c.get("/sub/").text(), "sub index");
        // No index and no listing: forbidden.
        assert_eq!(c.get("/empty/").status, 403);
        assert_eq!(c.get("/list/").status, 403);
    }
    let server = site.serve(|f| f.listing(true));
    let mut c = server.connect();
    let r = c.get("/list/");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let html = r.text();
    assert!(html.contains("&lt;b&gt;&amp;&quot;q&quot;.txt"), "{html}");
    assert!(html.contains("href=\"%3Cb%3E%26%22q%22.txt\""), "{html}");
    assert!(html.contains("href=\"inner%20dir/\""), "{html}");
    assert!(html.contains("z.txt"));
    assert!(!html.contains(".hidden"));
    assert!(!html.contains("<b>"));
    // Directories first.
    assert!(html.find("inner dir").unwrap() < html.find("z.txt").unwrap());
    // An index wins over the listing.
    assert_eq!(c.get("/sub/").text(), "sub index");
    std::fs::remove_dir_all(outside).unwrap();
}

#[test]
fn special_files_are_refused_without_blocking() {
    let site = Site::new("fifo");
    let fifo = site.root.join("pipe");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: `path` is a live NUL-terminated string.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
    let server = site.serve(|f| f);
    let mut c = server.connect();
    assert_eq!(c.get("/pipe").status, 403);
}

#[test]
fn mounted_under_a_prefix() {
    let (site, outside) = site("prefix");
    let root = site.root.clone();
    let server = util::TestServer::start(move || {
        shardio_http::Router::new()
            .get("/", |_req: shardio_http::Request| async { "app" })
            .get(
                "/static/*rest",
                shardio_http::StaticFiles::new(root)
                    .unwrap()
                    .strip_prefix("/static/"),
            )
    });
    let mut c = server.connect();
    assert_eq!(c.get("/").text(), "app");
    assert_eq!(c.get("/static/a.txt").text(), "plain a");
    let r = c.get("/static/sub");
    assert_eq!(r.header("location"), Some("/static/sub/"));
    assert_eq!(c.get("/static/sub/").text(), "sub index");
    std::fs::remove_dir_all(outside).unwrap();
}
