//! The runtime with no HTTP layer: every request head (anything ending in
//! a blank line) gets the same fixed 115-byte answer, the size of the
//! hello example's `GET /` response. It parses nothing but the blank
//! lines, and answers everything one read brought in one write.
//!
//! `scripts/bench-compare.sh` runs it next to the HTTP servers as the
//! floor for shardio-http: what a request costs on this runtime and
//! this kernel when the HTTP layer costs nothing.
//!
//! With `--parse`, each head is parsed by httparse instead (the call
//! shardio-http makes, with as many header slots), and answered with the
//! same bytes: the floor for any HTTP layer built on httparse, which
//! must at least parse. Nothing parsed is checked or used.
//!
//! ```text
//! cargo run --release -p shardio --example fixed_answer -- --addr 127.0.0.1:8080 --shards 1 [--parse]
//! ```

use shardio::buf::IoBuf;
use shardio::net::{TcpListener, TcpStream};
use std::mem::MaybeUninit;
use std::time::Duration;

/// The hello example's answer to `GET /`, with a fixed date.
const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\ndate: Sat, 21 Nov 2026 10:20:11 GMT\r\n\
content-length: 13\r\ncontent-type: text/plain\r\n\r\nHello, World!";

/// Counts the heads that end in `bytes`: how much of `\r\n\r\n` the
/// previous bytes matched is carried in `matched`, so a blank line split
/// between two reads still counts once.
fn heads_ending(bytes: &[u8], matched: &mut usize) -> usize {
    const END: &[u8; 4] = b"\r\n\r\n";
    let mut heads = 0;
    for &b in bytes {
        if b == END[*matched] {
            *matched += 1;
            if *matched == END.len() {
                heads += 1;
                *matched = 0;
            }
        } else {
            *matched = usize::from(b == b'\r');
        }
    }
    heads
}

/// Header slots per parse: shardio-http's `MAX_HEADERS_CAP`.
const HEADER_SLOTS: usize = 128;

/// Parses the complete heads at the start of `bytes` with httparse, as
/// shardio-http does, and answers each. Returns the bytes used, or `None`
/// for input that is not HTTP.
fn parse_heads(bytes: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    let mut used = 0;
    loop {
        let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; HEADER_SLOTS];
        let mut req = httparse::Request::new(&mut []);
        match req.parse_with_uninit_headers(&bytes[used..], &mut slots) {
            Ok(httparse::Status::Complete(n)) => {
                std::hint::black_box(&req);
                used += n;
                out.extend_from_slice(ANSWER);
            }
            Ok(httparse::Status::Partial) => return Some(used),
            Err(_) => return None,
        }
    }
}

/// Answers every head on `stream`: found by the blank-line scan, or with
/// `parse` by httparse (a head split between reads is then kept and
/// completed by the next read).
async fn serve(stream: TcpStream, parse: bool) {
    let _ = stream.set_nodelay(true);
    let mut input = Vec::with_capacity(16 * 1024);
    let mut out = Vec::with_capacity(16 * 1024);
    let mut matched = 0;
    loop {
        let kept = input.len();
        if kept == input.capacity() {
            return; // a head larger than the buffer
        }
        let (n, buf) = stream.read(input.slice(kept..)).await;
        input = buf.into_inner();
        match n {
            Ok(n) if n > 0 => {}
            _ => return,
        }
        if parse {
            let Some(used) = parse_heads(&input, &mut out) else {
                return;
            };
            input.drain(..used);
        } else {
            for _ in 0..heads_ending(&input, &mut matched) {
                out.extend_from_slice(ANSWER);
            }
            input.clear();
        }
        if out.is_empty() {
            continue;
        }
        let (w, buf) = stream.write_all(out).await;
        out = buf;
        out.clear();
        if w.is_err() {
            return;
        }
    }
}

fn main() {
    let mut addr = "127.0.0.1:8080".to_owned();
    let mut shards = 1;
    let mut parse = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--parse" {
            parse = true;
            continue;
        }
        match (arg.as_str(), args.next()) {
            ("--addr", Some(a)) => addr = a,
            ("--shards", Some(n)) if n.parse::<usize>().is_ok_and(|n| n > 0) => {
                shards = n.parse().unwrap_or(1);
            }
            _ => {
                eprintln!("usage: fixed_answer [--addr IP:PORT] [--shards N] [--parse]");
                std::process::exit(2);
            }
        }
    }
    let result = shardio::Runtime::builder()
        .shards(shards)
        .handle_signals(true)
        .build()
        .and_then(|rt| {
            println!("fixed_answer: listening on {addr}");
            rt.run(|_shard| {
                let addr = addr.clone();
                async move {
                    let listener = TcpListener::bind(&addr)?;
                    loop {
                        match listener.accept().await {
                            Ok((stream, _)) => shardio::spawn_detached(serve(stream, parse)),
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
        eprintln!("fixed_answer: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::{heads_ending, parse_heads, ANSWER};

    #[test]
    fn parsed_heads_are_answered_and_a_partial_one_kept() {
        let two = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\nGET / HT";
        let mut out = Vec::new();
        let used = parse_heads(two, &mut out).expect("valid heads");
        assert_eq!(&two[used..], b"GET / HT");
        assert_eq!(out.len(), 2 * ANSWER.len());
        assert_eq!(parse_heads(b"\x00\x01 nonsense\r\n\r\n", &mut out), None);
    }

    #[test]
    fn a_blank_line_split_between_reads_counts_once() {
        let req = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        for split in 0..=req.len() {
            let mut matched = 0;
            let (a, b) = req.split_at(split);
            let n = heads_ending(a, &mut matched) + heads_ending(b, &mut matched);
            assert_eq!(n, 1, "split at {split}");
        }
        let mut matched = 0;
        assert_eq!(heads_ending(b"\r\n\r\r\n\r\nX\r\n\r\n", &mut matched), 2);
    }
}
