//! File bodies into sockets, strategy by strategy: a server that answers
//! each one-byte request on a connection with a whole file, and a client
//! that keeps `--conns` connections asking and reading for `--secs`.
//!
//! ```text
//! zerocopy-strategies server [--addr IP:PORT] [--dir DIR]
//! zerocopy-strategies client [--addr IP:PORT] --strategy S --size N [--head H] [--conns C] [--secs T]
//! ```
//!
//! With `--head H` each body follows an H-byte response head, sent with
//! `send_with_head` (the file strategies only).
//!
//! Strategies: `copy` (pread into a buffer, send through the ring),
//! `sendfile`, `splice` (file → pipe → socket through the ring), `send-zc`
//! (`IORING_OP_SEND_ZC` from a buffer holding the file) and `send-buf` (a
//! plain send of that buffer, for reference). Sizes: 4096, 65536, 1048576,
//! 67108864. `scripts/bench-zerocopy.sh` runs the matrix with the server on
//! core 0 and the client on core 1, and reads the server's CPU time.

use shardio::net::{TcpListener, TcpStream};
use shardio_zerocopy::{send_range, send_with_head, send_zc_all, FileRange, Strategy};
use std::cell::Cell;
use std::fs::File;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

const SIZES: [u64; 4] = [4 << 10, 64 << 10, 1 << 20, 64 << 20];

fn usage() -> ! {
    eprintln!(
        "usage: zerocopy-strategies server [--addr IP:PORT] [--dir DIR]\n       \
         zerocopy-strategies client [--addr IP:PORT] --strategy copy|sendfile|splice|send-zc|send-buf \
         --size N [--head H] [--conns C] [--secs T]"
    );
    std::process::exit(2)
}

fn main() {
    let flags = shardio_benches::Flags::from_env(usage);
    let addr: SocketAddr = flags.parse("--addr", SocketAddr::from(([127, 0, 0, 1], 9200)));
    let result = match flags.command() {
        Some("server") => {
            let dir = flags
                .value("--dir")
                .map_or_else(std::env::temp_dir, PathBuf::from);
            shardio::block_on(server(addr, dir)).and_then(|r| r)
        }
        Some("client") => {
            let strategy = flags.value("--strategy").unwrap_or_else(|| usage());
            let size = flags.parse("--size", 0u64);
            if !SIZES.contains(&size) {
                usage();
            }
            let head = flags.parse("--head", 0u64);
            let conns = flags.parse("--conns", 4usize);
            let secs = Duration::from_secs_f64(flags.parse("--secs", 2.0));
            shardio::block_on(client(addr, strategy, size, head, conns, secs)).and_then(|r| r)
        }
        _ => usage(),
    };
    if let Err(e) = result {
        eprintln!("zerocopy-strategies: {e}");
        std::process::exit(1);
    }
}

/// One file per size, written once and read back so the page cache holds it.
struct Files {
    files: Vec<(u64, Rc<File>, Rc<Vec<u8>>)>,
}

impl Files {
    fn create(dir: &Path) -> io::Result<Files> {
        let mut files = Vec::new();
        for size in SIZES {
            let path = dir.join(format!("shardio-zc-bench-{}-{size}", std::process::id()));
            let bytes: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            File::create(&path)?.write_all(&bytes)?;
            let file = File::open(&path)?;
            std::fs::remove_file(&path)?;
            // Read it back: the page cache now holds every page.
            let mut check = Vec::new();
            io::Read::read_to_end(&mut &file, &mut check)?;
            files.push((size, Rc::new(file), Rc::new(bytes)));
        }
        Ok(Files { files })
    }

    fn get(&self, size: u64) -> Option<(Rc<File>, Rc<Vec<u8>>)> {
        self.files
            .iter()
            .find(|(s, ..)| *s == size)
            .map(|(_, f, b)| (f.clone(), b.clone()))
    }
}

async fn server(addr: SocketAddr, dir: PathBuf) -> io::Result<()> {
    let files = Rc::new(Files::create(&dir)?);
    shardio_zerocopy::set_zc_threshold(0);
    let listener = TcpListener::bind(addr)?;
    println!("listening on {addr}");
    loop {
        let (stream, _) = listener.accept().await?;
        let files = files.clone();
        shardio::spawn(async move {
            if let Err(e) = serve(stream, &files).await {
                eprintln!("connection: {e}");
            }
        });
    }
}

/// Reads the connection's "STRATEGY SIZE HEAD\n" line, then answers each
/// request byte with a HEAD-byte head (if not 0) and the file.
async fn serve(stream: TcpStream, files: &Files) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let (n, line) = stream.read(Vec::with_capacity(128)).await;
    let line = String::from_utf8_lossy(&line[..n?]).into_owned();
    let mut words = line.split_whitespace();
    let (Some(strategy), Some(size)) = (words.next(), words.next()) else {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "bad hello"));
    };
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("bad {what}"));
    let size: u64 = size.parse().map_err(|_| bad("size"))?;
    let head_len: usize = words
        .next()
        .unwrap_or("0")
        .parse()
        .map_err(|_| bad("head"))?;
    let mut head = vec![b'h'; head_len];
    let (file, bytes) = files
        .get(size)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unknown size"))?;
    let mut buf = (*bytes).clone();
    stream.write_all(b"+".to_vec()).await.0?;
    let mut req = Vec::with_capacity(64);
    loop {
        let (n, r) = stream.read(req).await;
        req = r;
        if n? == 0 {
            return Ok(());
        }
        let range = FileRange::shared(&file, 0, size);
        let file_strategy = match strategy {
            "copy" => Some(Strategy::Copy),
            "sendfile" => Some(Strategy::Sendfile),
            "splice" => Some(Strategy::Splice),
            "auto" => Some(Strategy::Auto),
            _ => None,
        };
        match strategy {
            _ if head_len > 0 => {
                let s = file_strategy.ok_or_else(|| bad("strategy for a head"))?;
                let (res, h) = send_with_head(&stream, head, range, s).await;
                head = h;
                res?;
            }
            _ if file_strategy.is_some() => {
                send_range(&stream, range, file_strategy.unwrap_or_default()).await?;
            }
            "send-zc" => {
                let (res, b) = send_zc_all(&stream, buf).await;
                buf = b;
                res?;
            }
            "send-buf" => {
                let (res, b) = stream.write_all(buf).await;
                buf = b;
                res?;
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "unknown strategy",
                ))
            }
        }
    }
}

async fn client(
    addr: SocketAddr,
    strategy: String,
    size: u64,
    head: u64,
    conns: usize,
    secs: Duration,
) -> io::Result<()> {
    let deadline = Instant::now() + secs;
    let done = Rc::new(Cell::new(0u64));
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let hello = format!("{strategy} {size} {head}\n").into_bytes();
        let done = done.clone();
        tasks.push(shardio::spawn(async move {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            stream.write_all(hello).await.0?;
            let mut buf = read_exactly(&stream, Vec::with_capacity(256 << 10), 1).await?;
            while Instant::now() < deadline {
                stream.write_all(b"?".to_vec()).await.0?;
                buf = read_exactly(&stream, buf, head + size).await?;
                done.set(done.get() + 1);
            }
            Ok::<_, io::Error>(())
        }));
    }
    let start = Instant::now();
    for t in tasks {
        t.await.map_err(|e| io::Error::other(e.to_string()))??;
    }
    let wall = start.elapsed().as_secs_f64();
    println!(
        "requests {} bytes {} secs {wall:.3}",
        done.get(),
        done.get() * size
    );
    Ok(())
}

/// Reads and discards exactly `len` bytes, reusing `buf`.
async fn read_exactly(stream: &TcpStream, mut buf: Vec<u8>, len: u64) -> io::Result<Vec<u8>> {
    let mut got = 0;
    while got < len {
        let (n, b) = stream.read(buf).await;
        buf = b;
        match n? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => got += n as u64,
        }
    }
    Ok(buf)
}
