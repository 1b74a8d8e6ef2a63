//! `shardio-serve`: serves a directory over HTTP/1.1, one shard per core,
//! file bodies through the zero-copy path.
//!
//! ```sh
//! cargo run --release -p shardio-http --bin shardio-serve -- ./public --listing
//! ```

use clap::Parser;
use shardio::net::TcpListener;
use shardio_http::middleware::{AccessLog, Compress};
use shardio_http::{Router, Server, StaticFiles, Timeouts};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Serves a directory over HTTP/1.1 with one shard (thread, io_uring ring)
/// per core. Files are opened beneath ROOT only, cached open per shard, and
/// sent without copying through user space. SIGINT or SIGTERM stops it
/// gracefully: idle connections close at once, requests in flight finish.
#[derive(Parser, Debug)]
#[command(name = "shardio-serve", version)]
struct Args {
    /// The directory to serve.
    #[arg(default_value = ".")]
    root: PathBuf,

    /// The address to listen on; every shard binds it (SO_REUSEPORT).
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,

    /// How many shards to run, each pinned to its own core [default: the
    /// available cores].
    #[arg(long, value_name = "N")]
    shards: Option<usize>,

    /// Seconds a client has to send a whole request head, however slowly
    /// it trickles in (then 408).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    header_timeout: u64,

    /// Seconds a kept-alive connection may wait for its next request.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    idle_timeout: u64,

    /// Most open connections per shard; beyond it, new connections wait in
    /// the kernel's accept queue.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_conns: usize,

    /// List directories that have no index.html (otherwise 403).
    #[arg(long)]
    listing: bool,

    /// Serve names starting with a dot (otherwise 404).
    #[arg(long)]
    hidden: bool,

    /// Log one line per request to standard output (buffered per shard).
    #[arg(long)]
    access_log: bool,

    /// A Cache-Control value for every file response, e.g. "max-age=3600".
    #[arg(long, value_name = "VALUE")]
    cache_control: Option<String>,

    /// Compress text, JSON, JavaScript, XML and SVG files of 1 KiB and
    /// more as they are sent (gzip or deflate, as the client accepts) at
    /// LEVEL, 1 (fastest) to 9 (smallest) [default: 6]. A file with a
    /// precompressed sibling (.gz, .br) is sent as that sibling instead,
    /// whether or not this is given.
    #[arg(long, value_name = "LEVEL", num_args = 0..=1, default_missing_value = "6",
          value_parser = clap::value_parser!(u32).range(1..=9))]
    gzip: Option<u32>,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(args) {
        eprintln!("shardio-serve: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> io::Result<()> {
    // Fail before any shard starts if the root is unusable.
    let root = std::fs::canonicalize(&args.root)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", args.root.display())))?;
    if !root.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a directory", root.display()),
        ));
    }
    let mut builder = shardio::Runtime::builder().handle_signals(true);
    if let Some(n) = args.shards {
        builder = builder.shards(n);
    }
    let runtime = builder.build()?;
    let shards = runtime.shards();
    let timeouts = Timeouts {
        header: Duration::from_secs(args.header_timeout),
        idle: Duration::from_secs(args.idle_timeout),
        ..Timeouts::default()
    };
    runtime.run(|shard| {
        let args = &args;
        let root = root.clone();
        let timeouts = timeouts.clone();
        async move {
            let mut files = StaticFiles::new(&root)?
                .listing(args.listing)
                .hidden(args.hidden);
            if let Some(cc) = &args.cache_control {
                files = files.cache_control(cc.clone());
            }
            let mut router = Router::new();
            if args.access_log {
                router = router.middleware(AccessLog::to_writer(io::stdout()));
            }
            if let Some(level) = args.gzip {
                router = router.middleware(Compress::new().level(level));
            }
            let router = router.not_found(files);
            let listener = TcpListener::bind(args.addr)?;
            if shard.id() == 0 {
                // Printed once the address is taken, so a script that waits
                // for this line can connect at once.
                println!(
                    "serving {} at http://{}/ ({shards} shard{})",
                    root.display(),
                    args.addr,
                    if shards == 1 { "" } else { "s" }
                );
            }
            Server::new()
                .timeouts(timeouts)
                .max_connections(args.max_conns)
                .serve(listener, router)
                .await
        }
    })
}
