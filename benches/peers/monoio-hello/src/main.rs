//! monoio hello server on one thread (io_uring driver).
//! Usage: monoio-hello ADDR

use hello_proto::{answer, DateCache, Parsed};
use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};

fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8082".into());
    monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
        .with_entries(1024)
        .enable_timer()
        .build()?
        .block_on(async move {
            let listener = TcpListener::bind(&addr)?;
            println!("listening on {addr}");
            loop {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                monoio::spawn(serve(stream));
            }
        })
}

async fn serve(mut stream: TcpStream) {
    let mut date = DateCache::default();
    let mut input: Vec<u8> = Vec::with_capacity(4096);
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    loop {
        if input.len() == input.capacity() {
            input.reserve(4096);
        }
        let filled = input.len();
        let (n, buf) = stream.read(input.slice_mut(filled..)).await;
        input = buf.into_inner();
        if !matches!(n, Ok(n) if n > 0) {
            return;
        }
        match answer(&input, &mut out, &mut date) {
            Parsed::Consumed(used) => drop(input.drain(..used)),
            Parsed::Invalid => return,
        }
        if !out.is_empty() {
            let (r, buf) = stream.write_all(out).await;
            out = buf;
            out.clear();
            if r.is_err() {
                return;
            }
        }
    }
}
