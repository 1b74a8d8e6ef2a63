//! tokio + hyper hello server: `GET /` → `Hello, World!` (text/plain).
//!
//! Usage: `hyper-hello ADDR [THREADS [multi|per-core]]`
//!
//! - no THREADS: one current-thread runtime (one core), the one-core peer
//!   of scripts/bench-compare.sh and bench-http.sh;
//! - `THREADS multi` (the default with THREADS): tokio's multi-thread
//!   runtime with THREADS workers and one listener, as most hyper servers
//!   run;
//! - `THREADS per-core`: THREADS threads, each a current-thread runtime
//!   with its own SO_REUSEPORT listener on ADDR, the kernel spreading the
//!   connections (thread-per-core, as shardio runs).
//!
//! The last two are the peers of scripts/bench-scaling.sh.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpSocket};

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::builder()
        .header("content-type", "text/plain")
        .body(Full::new(Bytes::from_static(b"Hello, World!")))
        .unwrap())
}

async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .pipeline_flush(true)
                .serve_connection(TokioIo::new(stream), service_fn(hello))
                .await;
        });
    }
}

/// A listener on `addr` with SO_REUSEPORT, so several can share it.
fn reuseport_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

fn current_thread() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:8081".into())
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("ADDR: {e}")))?;
    let threads: Option<usize> = args
        .next()
        .map(|n| n.parse())
        .transpose()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("THREADS: {e}")))?;
    let mode = args.next().unwrap_or_else(|| "multi".into());
    match (threads, mode.as_str()) {
        (None, _) => {
            let rt = current_thread()?;
            let listener = rt.block_on(async { TcpListener::bind(addr).await })?;
            println!("listening on {addr}");
            rt.block_on(serve(listener))
        }
        (Some(n), "multi") => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(n)
                .enable_all()
                .build()?;
            let listener = rt.block_on(async { TcpListener::bind(addr).await })?;
            println!("listening on {addr} with {n} worker threads");
            rt.block_on(serve(listener))
        }
        (Some(n), "per-core") => {
            let mut listeners = Vec::with_capacity(n);
            for _ in 0..n {
                let rt = current_thread()?;
                let listener = rt.block_on(async { reuseport_listener(addr) })?;
                listeners.push((rt, listener));
            }
            println!("listening on {addr} with {n} current-thread runtimes");
            let threads: Vec<_> = listeners
                .into_iter()
                .map(|(rt, listener)| std::thread::spawn(move || rt.block_on(serve(listener))))
                .collect();
            for t in threads {
                t.join().expect("a server thread panicked")?;
            }
            Ok(())
        }
        (Some(_), other) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown mode {other}; usage: hyper-hello ADDR [THREADS [multi|per-core]]"),
        )),
    }
}
