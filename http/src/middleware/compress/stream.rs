//! A streamed body compressed as it is produced.

use super::encoder::Encoder;
use bytes::Bytes;
use futures_util::stream::{self, LocalBoxStream, StreamExt};
use std::cell::Cell;
use std::io;

thread_local! {
    /// Streams being compressed on this shard, by every `Compress` here.
    static OPEN: Cell<usize> = const { Cell::new(0) };
}

/// One of a shard's compressed streams: its encoder's state (about
/// 403 KiB) lives as long as the permit, which gives its place back when
/// dropped (the body ended, failed, or its connection went).
pub(super) struct Permit(());

impl Permit {
    /// A place, when fewer than `max` streams are compressed on this shard.
    pub(super) fn take(max: usize) -> Option<Permit> {
        OPEN.with(|open| {
            let n = open.get();
            (n < max).then(|| {
                open.set(n + 1);
                Permit(())
            })
        })
    }

    /// Whether [`take`](Permit::take) would give a place now.
    pub(super) fn free(max: usize) -> bool {
        OPEN.with(|open| open.get() < max)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        OPEN.with(|open| open.set(open.get() - 1));
    }
}

/// What is left to do for a compressed stream.
enum State {
    /// Pieces may still come from the body. The encoder is boxed: the
    /// state moves in and out of `next` once per piece.
    Open(
        LocalBoxStream<'static, io::Result<Bytes>>,
        Box<Encoder>,
        Permit,
    ),
    /// The body ended or failed: nothing more is sent, and the encoder
    /// and the permit are gone.
    Done,
}

/// `body` compressed by `encoder`, piece by piece.
///
/// Each piece the body yields is compressed and flushed (a sync flush), so
/// that what a handler streams reaches the client when it is produced (a
/// server-sent event, a progress line) rather than when the compressor's
/// window fills. A piece that adds no output yields nothing; the end of
/// the body yields the coding's trailer. An error from the body is passed
/// on, and ends the stream.
pub(super) fn compressed(
    body: LocalBoxStream<'static, io::Result<Bytes>>,
    encoder: Encoder,
    permit: Permit,
) -> LocalBoxStream<'static, io::Result<Bytes>> {
    stream::unfold(State::Open(body, Box::new(encoder), permit), next).boxed_local()
}

async fn next(state: State) -> Option<(io::Result<Bytes>, State)> {
    let State::Open(mut body, mut encoder, permit) = state else {
        return None;
    };
    loop {
        match body.next().await {
            Some(Ok(piece)) => {
                if piece.is_empty() {
                    continue;
                }
                let out = match encoder.write(&piece).await {
                    Ok(()) => encoder.flushed(),
                    Err(e) => Err(e),
                };
                match out {
                    Ok(out) if out.is_empty() => continue,
                    Ok(out) => return Some((Ok(out), State::Open(body, encoder, permit))),
                    Err(e) => return Some((Err(e), State::Done)),
                }
            }
            Some(Err(e)) => return Some((Err(e), State::Done)),
            None => return Some((encoder.finish(), State::Done)),
        }
    }
}
