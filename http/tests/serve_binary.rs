//! The `shardio-serve` binary: its help, serving a directory (`--gzip`
//! too), and a graceful stop on SIGTERM.

mod util;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use util::{Client, Site};

const BIN: &str = env!("CARGO_BIN_EXE_shardio-serve");

#[test]
fn help_names_every_option() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for option in [
        "--addr",
        "--shards",
        "--header-timeout",
        "--idle-timeout",
        "--max-conns",
        "--listing",
        "--hidden",
        "--access-log",
        "--cache-control",
        "--gzip",
        "[ROOT]",
    ] {
        assert!(help.contains(option), "--help lacks {option}:\n{help}");
    }
}

#[test]
fn a_missing_root_is_a_clear_error() {
    let out = Command::new(BIN)
        .arg("/nonexistent/shardio-root")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("/nonexistent/shardio-root"), "{err}");
}

#[test]
fn serves_then_stops_gracefully_on_sigterm() {
    let site = Site::new("binary");
    site.write("hello.txt", "hello from disk");
    let page = "<p>a paragraph of the page</p>\n".repeat(100);
    site.write("page.html", &page);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = KillOnDrop(
        Command::new(BIN)
            .arg(&site.root)
            .args([
                "--addr",
                &addr,
                "--shards",
                "1",
                "--cache-control",
                "max-age=5",
                "--gzip",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let child = &mut child.0;
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains(&format!("http://{addr}/")), "{line}");

    let mut c = Client::connect(addr.parse().unwrap());
    let r = c.get("/hello.txt");
    assert_eq!(r.text(), "hello from disk");
    assert_eq!(r.header("cache-control"), Some("max-age=5"));
    // --gzip: a text file of 1 KiB and more is compressed; a smaller one
    // is not.
    let r = c.request("GET", "/page.html", &["Accept-Encoding: gzip"]);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let mut plain = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&r.body[..]), &mut plain)
        .unwrap();
    assert_eq!(plain, page);
    let r = c.request("GET", "/hello.txt", &["Accept-Encoding: gzip"]);
    assert_eq!(r.header("content-encoding"), None);

    // SAFETY: `kill` with a live child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let until = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < until, "still running 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    // The idle keep-alive connection was closed, not left hanging.
    assert!(c.is_closed());
}

/// Kills the server if the test fails before it stops.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
