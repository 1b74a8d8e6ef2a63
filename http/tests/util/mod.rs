//! A server on its own thread, and a blocking client that speaks raw bytes.

#![allow(dead_code, unreachable_pub)]

use shardio::net::TcpListener;
use shardio_http::{Router, Server};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<futures_channel::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start(router: impl FnOnce() -> Router + Send + 'static) -> TestServer {
        TestServer::with(Server::new(), router)
    }

    pub fn with(server: Server, router: impl FnOnce() -> Router + Send + 'static) -> TestServer {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = futures_channel::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            shardio::block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                server
                    .serve_until(listener, router(), async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            })
            .unwrap();
        });
        TestServer {
            addr: addr_rx.recv().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Asks the server to stop, on another thread, so that the test can
    /// watch its connections meanwhile.
    pub fn stop_in_background(mut self) -> Stopping {
        Stopping {
            start: Instant::now(),
            thread: std::thread::spawn(move || self.stop()),
        }
    }

    /// Asks the server to stop and waits for it.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A stop under way ([`TestServer::stop_in_background`]), timed from its
/// start.
pub struct Stopping {
    start: Instant,
    thread: JoinHandle<()>,
}

impl Stopping {
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits for the server to have stopped; fails if that took `limit`
    /// or more from the start.
    pub fn finish_within(self, limit: Duration) {
        self.thread.join().unwrap();
        let took = self.start.elapsed();
        assert!(took < limit, "the stop took {took:?}");
    }
}

pub struct Client {
    pub reader: BufReader<TcpStream>,
}

#[derive(Debug)]
pub struct Reply {
    /// The status line's version, `HTTP/1.1` say.
    pub version: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        Client::from_stream(TcpStream::connect(addr).unwrap())
    }

    /// A client on a stream connected elsewhere.
    pub fn from_stream(s: TcpStream) -> Client {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Client {
            reader: BufReader::new(s),
        }
    }

    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }

    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.reader.get_mut().write_all(bytes.as_ref()).unwrap();
    }

    /// Sends a GET with Host.
    pub fn get(&mut self, path: &str) -> Reply {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
        self.reply().expect("a reply")
    }

    /// Reads one response; `None` at EOF (or a reset) before its first byte.
    pub fn reply(&mut self) -> Option<Reply> {
        self.reply_to(false)
    }

    /// Reads one response to a HEAD request (no body whatever the length).
    pub fn reply_to(&mut self, head: bool) -> Option<Reply> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        let mut words = line.split(' ');
        let version = words.next().expect("a version").to_owned();
        let status: u16 = words.next().expect("status").parse().unwrap();
        let mut headers = Vec::new();
        loop {
            let mut l = String::new();
            self.reader.read_line(&mut l).unwrap();
            let l = l.trim_end_matches(['\r', '\n']);
            if l.is_empty() {
                break;
            }
            let (n, v) = l.split_once(':').expect("a field");
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
        let mut reply = Reply {
            version,
            status,
            headers,
            body: Vec::new(),
        };
        if head || (100..200).contains(&status) || status == 204 || status == 304 {
            return Some(reply);
        }
        if reply.header("transfer-encoding") == Some("chunked") {
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size).unwrap();
                let n = usize::from_str_radix(size.trim(), 16).unwrap();
                let mut piece = vec![0; n + 2];
                self.reader.read_exact(&mut piece).unwrap();
                if n == 0 {
                    break;
                }
                reply.body.extend_from_slice(&piece[..n]);
            }
        } else if let Some(n) = reply.header("content-length") {
            let mut body = vec![0; n.parse().unwrap()];
            self.reader.read_exact(&mut body).unwrap();
            reply.body = body;
        } else {
            self.reader.read_to_end(&mut reply.body).unwrap();
        }
        Some(reply)
    }

    /// Whether the server closed the connection (EOF or reset) within the
    /// read timeout, with no more bytes sent.
    pub fn is_closed(&mut self) -> bool {
        if !self.reader.buffer().is_empty() {
            return false;
        }
        let mut b = [0u8; 1];
        match self.reader.read(&mut b) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
            ),
        }
    }
}

impl Client {
    /// Sends `method path` with Host and `fields` (each `Name: value`), and
    /// reads the reply (no body for HEAD).
    pub fn request(&mut self, method: &str, path: &str, fields: &[&str]) -> Reply {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: t\r\n");
        for f in fields {
            head.push_str(f);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        self.send(head);
        self.reply_to(method == "HEAD").expect("a reply")
    }
}

/// A directory of files for one test, removed when dropped.
pub struct Site {
    pub root: std::path::PathBuf,
}

impl Site {
    pub fn new(name: &str) -> Site {
        let root = std::env::temp_dir().join(format!("shardio-site-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        Site { root }
    }

    /// Writes `bytes` at `rel`, creating directories on the way.
    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) -> std::path::PathBuf {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Serves the site with `StaticFiles` configured by `configure`.
    pub fn serve(
        &self,
        configure: impl FnOnce(shardio_http::StaticFiles) -> shardio_http::StaticFiles + Send + 'static,
    ) -> TestServer {
        self.serve_with(Server::new(), configure)
    }

    pub fn serve_with(
        &self,
        server: Server,
        configure: impl FnOnce(shardio_http::StaticFiles) -> shardio_http::StaticFiles + Send + 'static,
    ) -> TestServer {
        let root = self.root.clone();
        TestServer::with(server, move || {
            Router::new().not_found(configure(shardio_http::StaticFiles::new(root).unwrap()))
        })
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Bytes that differ at every offset of a long file: a misplaced range
/// shows up.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2654435761).to_le_bytes()[3])
        .collect()
}

/// The process's descriptor limit, lowered until dropped.
pub struct LowerLimit(libc::rlimit);

impl LowerLimit {
    /// To `room` descriptors above the highest one open now.
    pub fn to_open_plus(room: u64) -> LowerLimit {
        let highest = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
            .max()
            .unwrap();
        let mut old = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `old` is a live local the call fills in.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut old) }, 0);
        let low = libc::rlimit {
            rlim_cur: highest + 1 + room,
            rlim_max: old.rlim_max,
        };
        // SAFETY: `low` is a live, initialized local.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &low) }, 0);
        LowerLimit(old)
    }
}

impl Drop for LowerLimit {
    fn drop(&mut self) {
        // SAFETY: `self.0` is a live, initialized field.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &self.0) }, 0);
    }
}

/// Opens descriptors until the limit refuses one: none is left free.
pub fn take_every_free_descriptor() -> Vec<std::fs::File> {
    let mut hoard = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        hoard.push(f);
    }
    hoard
}

/// How many fds this process has open.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Polls `done` every 20 ms until it holds, and fails with `what()` if
/// `limit` passes first. For what a server does in its own time (a
/// once-a-second flush, a stop), so that a busy host makes a test slower
/// but never makes it fail.
pub fn eventually(limit: Duration, what: impl Fn() -> String, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "after {limit:?}: {}", what());
        std::thread::sleep(Duration::from_millis(20));
    }
}
