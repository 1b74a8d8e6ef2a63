//! Deflate speed and size at each level: the backend `Compress` encodes
//! with (flate2 on zlib-rs) against miniz_oxide, flate2's default
//! backend, called directly. The input is the compress example's report,
//! a JSON array of 60,000 rows (3.4 MB), compressed whole.
//!
//! ```text
//! taskset -c 0 cargo run --release -p shardio-benches --bin deflate-levels
//! ```
//!
//! Prints, per level, each backend's raw deflate size and its input
//! megabytes per second (the best of five runs), and checks that every
//! output inflates back to the input.

use flate2::write::DeflateEncoder;
use flate2::Compression;
use std::io::Write;
use std::time::Instant;

const RUNS: usize = 5;

/// The compress example's `/report` body.
fn report() -> Vec<u8> {
    let rows: Vec<String> = (0..60_000)
        .map(|i| {
            format!(
                r#"{{"id":{i},"name":"item {i}","price":{},"stock":true}}"#,
                i % 997
            )
        })
        .collect();
    format!("[{}]", rows.join(",")).into_bytes()
}

/// The smallest time of `RUNS` runs of `deflate`, and its output.
fn best(input: &[u8], deflate: impl Fn(&[u8]) -> Vec<u8>) -> (f64, Vec<u8>) {
    let mut fastest = f64::MAX;
    let mut out = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        out = deflate(input);
        fastest = fastest.min(start.elapsed().as_secs_f64());
    }
    let back = miniz_oxide::inflate::decompress_to_vec(&out).expect("a deflate stream");
    assert!(back == input, "the output does not inflate to the input");
    (fastest, out)
}

fn zlib_rs(input: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::new(level));
    encoder.write_all(input).expect("writing to a Vec");
    encoder.finish().expect("writing to a Vec")
}

fn main() {
    let input = report();
    let mb = input.len() as f64 / 1e6;
    println!("input: {} bytes", input.len());
    println!("| level | zlib-rs bytes | zlib-rs MB/s | miniz_oxide bytes | miniz_oxide MB/s | speed ratio | size ratio |");
    println!("|---|---|---|---|---|---|---|");
    for level in [1u8, 2, 3, 4, 6, 9] {
        let (zr_time, zr) = best(&input, |i| zlib_rs(i, u32::from(level)));
        let (mz_time, mz) = best(&input, |i| miniz_oxide::deflate::compress_to_vec(i, level));
        println!(
            "| {level} | {} | {:.0} | {} | {:.0} | {:.2}x | {:.2}x |",
            zr.len(),
            mb / zr_time,
            mz.len(),
            mb / mz_time,
            mz_time / zr_time,
            zr.len() as f64 / mz.len() as f64,
        );
    }
}
