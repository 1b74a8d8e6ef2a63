//! glommio hello server on one executor, not pinned by glommio itself (the
//! bench script pins it with taskset). Usage: glommio-hello ADDR

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::{TcpListener, TcpStream};
use glommio::{LocalExecutorBuilder, Placement};
use hello_proto::{answer, DateCache, Parsed};

fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8083".into());
    LocalExecutorBuilder::new(Placement::Unbound)
        .spawn(move || async move {
            let listener = TcpListener::bind(&addr).expect("bind");
            println!("listening on {addr}");
            loop {
                let stream = listener.accept().await.expect("accept");
                stream.set_nodelay(true).expect("nodelay");
                glommio::spawn_local(serve(stream)).detach();
            }
        })
        .expect("executor")
        .join()
        .expect("join");
}

async fn serve(mut stream: TcpStream) {
    let mut date = DateCache::default();
    let mut input = vec![0u8; 4096];
    let mut filled = 0;
    let mut out = Vec::with_capacity(4096);
    loop {
        if filled == input.len() {
            input.resize(input.len() * 2, 0);
        }
        match stream.read(&mut input[filled..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => filled += n,
        }
        match answer(&input[..filled], &mut out, &mut date) {
            Parsed::Consumed(used) => {
                input.copy_within(used..filled, 0);
                filled -= used;
            }
            Parsed::Invalid => return,
        }
        if !out.is_empty() {
            if stream.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
    }
}
