//! A TCP echo server on every shard.
//!
//! ```text
//! cargo run --release -p shardio --example echo -- --addr 127.0.0.1:9000 --shards 2
//! ```
//!
//! Each shard binds the address with SO_REUSEPORT and the kernel spreads
//! connections across them. Ctrl-C shuts it down gracefully.

use shardio::net::{TcpListener, TcpStream};
use std::time::Duration;

struct Args {
    addr: String,
    shards: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: "127.0.0.1:9000".to_owned(),
        shards: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--addr" => args.addr = value("--addr")?,
            "--shards" => {
                let v = value("--shards")?;
                args.shards = Some(
                    v.parse()
                        .map_err(|_| format!("--shards: not a number: {v}"))?,
                );
            }
            "-h" | "--help" => {
                return Err("usage: echo [--addr IP:PORT] [--shards N]".to_owned());
            }
            other => return Err(format!("unknown argument {other}; see --help")),
        }
    }
    Ok(args)
}

async fn echo(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::with_capacity(16 * 1024);
    loop {
        let (n, b) = stream.read(buf).await;
        match n {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let (w, mut b) = stream.write_all(b).await;
        if w.is_err() {
            break;
        }
        b.clear();
        buf = b;
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(2);
        }
    };
    let mut builder = shardio::Runtime::builder()
        .handle_signals(true)
        .shutdown_grace(Duration::from_secs(2));
    if let Some(n) = args.shards {
        builder = builder.shards(n);
    }
    let result = builder.build().and_then(|rt| {
        println!(
            "echo: listening on {} with {} shards",
            args.addr,
            rt.shards()
        );
        rt.run(|_shard| {
            let addr = args.addr.clone();
            async move {
                let listener = TcpListener::bind(&addr)?;
                loop {
                    match listener.accept().await {
                        Ok((stream, _)) => {
                            shardio::spawn(echo(stream));
                        }
                        // Out of fds and the like: back off, then go on.
                        Err(e) => {
                            eprintln!("accept: {e}");
                            shardio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            }
        })
    });
    if let Err(e) = result {
        eprintln!("echo: {e}");
        std::process::exit(1);
    }
}
