//! A file body read through the ring, piece by piece, to be compressed.

use bytes::Bytes;
use futures_util::stream::{self, LocalBoxStream, StreamExt};
use shardio::IoBuf;
use std::fs::File;
use std::io;
use std::rc::Rc;

/// How much of the file one read takes: four of the encoder's slices.
const PIECE: u64 = 64 * 1024;

/// The `len` bytes of `file` from `offset`, as pieces of up to [`PIECE`]
/// bytes read through the ring (a read the page cache cannot serve does
/// not stop the shard). A file that ends before the range does (truncated
/// while it is sent) ends the stream with an error, which cuts the body.
pub(super) fn pieces(
    file: Rc<File>,
    offset: u64,
    len: u64,
) -> LocalBoxStream<'static, io::Result<Bytes>> {
    let end = offset.saturating_add(len);
    stream::unfold(Some((file, offset)), move |state| async move {
        let (file, at) = state?;
        if at >= end {
            return None;
        }
        let want = (end - at).min(PIECE) as usize;
        // A slice of exactly `want`: a vector may hold more than it was
        // asked for, and the read must not run past the range.
        let buf = Vec::with_capacity(want).slice(..want);
        match shardio_zerocopy::read_at(&file, at, buf).await {
            (Ok(0), _) => Some((Err(ended(at, end)), None)),
            (Ok(n), buf) => {
                let piece = Bytes::from(buf.into_inner());
                Some((Ok(piece), Some((file, at + n as u64))))
            }
            (Err(e), _) => Some((Err(e), None)),
        }
    })
    .boxed_local()
}

fn ended(at: u64, end: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the file ended at byte {at}, before the body's end at byte {end}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_of(bytes: &[u8]) -> Rc<File> {
        let path = std::env::temp_dir().join(format!("compress-pieces-{}", std::process::id()));
        File::create(&path).unwrap().write_all(bytes).unwrap();
        let file = File::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        Rc::new(file)
    }

    #[test]
    fn a_range_comes_in_pieces_and_a_short_file_ends_in_an_error() {
        let data: Vec<u8> = (0..150_000u32).map(|i| (i % 251) as u8).collect();
        let file = file_of(&data);
        let (pieces, inner, short) = shardio::block_on(async move {
            let whole: Vec<_> = super::pieces(file.clone(), 1000, 149_000).collect().await;
            let inner: Vec<_> = super::pieces(file.clone(), 10, 70_000).collect().await;
            let short: Vec<_> = super::pieces(file, 100_000, 60_000).collect().await;
            (whole, inner, short)
        })
        .unwrap();
        let sizes: Vec<usize> = pieces.iter().map(|p| p.as_ref().unwrap().len()).collect();
        assert_eq!(sizes, [65_536, 65_536, 17_928]);
        let joined: Vec<u8> = pieces.into_iter().flat_map(|p| p.unwrap()).collect();
        assert!(joined == data[1000..], "the pieces differ from the file");
        // A range that ends inside the file: not a byte past its end.
        let inner: Vec<u8> = inner.into_iter().flat_map(|p| p.unwrap()).collect();
        assert!(inner == data[10..70_010], "{} bytes", inner.len());

        // The file ends 10,000 bytes before the range: the bytes there,
        // then an error that says so, then nothing.
        assert_eq!(short.len(), 2);
        assert!(short[0].as_ref().unwrap()[..] == data[100_000..]);
        let e = short[1].as_ref().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert!(e.to_string().contains("byte 150000"), "{e}");
    }
}
