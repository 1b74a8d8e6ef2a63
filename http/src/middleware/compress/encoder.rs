//! One response body's gzip or zlib encoder, fed in slices that leave the
//! shard to its other tasks in between.

use bytes::buf::Writer;
use bytes::{BufMut, Bytes, BytesMut};
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use std::io::{self, Write};

/// The content codings [`Compress`](super::Compress) produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Coding {
    Gzip,
    /// HTTP's "deflate" is the zlib format (RFC 9110 §8.4.1.2).
    Deflate,
}

impl Coding {
    /// The `Content-Encoding` value.
    pub(super) fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
        }
    }
}

/// How much input is compressed before the shard's other tasks get a
/// turn: about 0.15 ms of gzip at the default level on JSON (the
/// `compress` bench).
pub(super) const SLICE: usize = 16 * 1024;

/// An encoder writing into a growable buffer that its output is split off.
pub(super) enum Encoder {
    Gzip(GzEncoder<Writer<BytesMut>>),
    Deflate(ZlibEncoder<Writer<BytesMut>>),
}

impl Encoder {
    /// An encoder whose output buffer starts with room for `capacity`.
    pub(super) fn new(coding: Coding, level: Compression, capacity: usize) -> Encoder {
        let out = BytesMut::with_capacity(capacity).writer();
        match coding {
            Coding::Gzip => Encoder::Gzip(GzEncoder::new(out, level)),
            Coding::Deflate => Encoder::Deflate(ZlibEncoder::new(out, level)),
        }
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Encoder::Gzip(e) => e,
            Encoder::Deflate(e) => e,
        }
    }

    fn out(&mut self) -> &mut BytesMut {
        match self {
            Encoder::Gzip(e) => e.get_mut().get_mut(),
            Encoder::Deflate(e) => e.get_mut().get_mut(),
        }
    }

    /// Compresses `data`, [`SLICE`] bytes at a time, yielding to the
    /// shard's other tasks between slices: a body of megabytes does not
    /// hold every other connection of the shard while it is compressed.
    pub(super) async fn write(&mut self, data: &[u8]) -> io::Result<()> {
        let mut slices = data.chunks(SLICE);
        if let Some(first) = slices.next() {
            self.writer().write_all(first)?;
        }
        for slice in slices {
            shardio::yield_now().await;
            self.writer().write_all(slice)?;
        }
        Ok(())
    }

    /// Ends what has been written so far on a byte boundary (a sync flush)
    /// and takes the output: the client can decode everything written up
    /// to here without waiting for more.
    pub(super) fn flushed(&mut self) -> io::Result<Bytes> {
        self.writer().flush()?;
        // The encoder only appends to its writer, and a flush has emptied
        // its own buffer into it: the bytes split off are whole.
        Ok(self.out().split().freeze())
    }

    /// Ends the compressed stream (its trailer included) and takes the
    /// rest of the output.
    pub(super) fn finish(self) -> io::Result<Bytes> {
        let out = match self {
            Encoder::Gzip(e) => e.finish()?,
            Encoder::Deflate(e) => e.finish()?,
        };
        Ok(out.into_inner().freeze())
    }
}
