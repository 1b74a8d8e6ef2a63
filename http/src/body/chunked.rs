//! The chunked transfer coding of request bodies (RFC 9112 §7.1), decoded
//! incrementally: framing bytes may arrive split anywhere, and data is
//! handed out as slices of the input, never copied.

/// Longest chunk-size line (size, extensions) and longest trailer section.
const MAX_LINE: u16 = 4096;
const MAX_TRAILERS: u16 = 16 * 1024;

/// Where the trailer section's field lines are kept, as received (each
/// ending in CRLF), for a reader that wants them: allocated at the first
/// trailer byte, so a body without trailers costs one word.
pub(crate) type Kept = Option<Box<Vec<u8>>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Hex digits of a chunk size.
    Size,
    /// Whitespace after the size, which only an extension may follow
    /// (`BWS ";"`, RFC 9112 §7.1.1).
    SizeWs,
    /// Extensions, up to the line's CR.
    Ext,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    /// At the start of a trailer field line (or of the final empty line).
    TrailerStart,
    /// A trailer field's name, up to its colon.
    TrailerName,
    /// A trailer field's value, up to the line's CR.
    TrailerValue,
    TrailerLf,
    EndLf,
    Done,
}

/// What one [`Decoder::step`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Body bytes at `input[start..end]`.
    Data(usize, usize),
    /// Every input byte was framing; more are needed.
    NeedMore,
    /// The last chunk and the trailers are done.
    Done,
}

impl State {
    /// Whether a byte that led here is part of the trailer section (the
    /// last chunk's line ending included), counted against
    /// [`MAX_TRAILERS`].
    fn in_trailers(self) -> bool {
        matches!(
            self,
            State::TrailerStart | State::TrailerName | State::TrailerValue | State::TrailerLf
        )
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Decoder {
    state: State,
    /// The size being read, then the data left of the current chunk.
    size: u64,
    digits: u8,
    line: u16,
    trailers: u16,
}

impl Decoder {
    pub(crate) fn new() -> Decoder {
        Decoder {
            state: State::Size,
            size: 0,
            digits: 0,
            line: 0,
            trailers: 0,
        }
    }

    /// Consumes framing from `input` until body bytes or the end. Returns
    /// how many bytes it consumed (the data, if any, included). Trailer
    /// field lines go to `keep` when there is one, and are dropped when
    /// not.
    pub(crate) fn step(
        &mut self,
        input: &[u8],
        mut keep: Option<&mut Kept>,
    ) -> Result<(usize, Step), &'static str> {
        let mut i = 0;
        while i < input.len() {
            if self.state == State::Data {
                let n = (input.len() - i).min(usize::try_from(self.size).unwrap_or(usize::MAX));
                self.size -= n as u64;
                if self.size == 0 {
                    self.state = State::DataCr;
                }
                return Ok((i + n, Step::Data(i, i + n)));
            }
            let b = input[i];
            i += 1;
            let before = self.state;
            self.state = match (self.state, b) {
                (State::Size, b) if b.is_ascii_hexdigit() => {
                    if self.digits == 16 {
                        return Err("chunk size too large");
                    }
                    self.digits += 1;
                    self.size = self.size << 4 | u64::from(hex(b));
                    State::Size
                }
                (State::Size, _) if self.digits == 0 => return Err("malformed chunk size"),
                (State::Size | State::Ext, b'\r') => State::SizeLf,
                (State::Size | State::SizeWs, b';') => State::Ext,
                (State::Size | State::SizeWs, b' ' | b'\t') => State::SizeWs,
                (State::Size, _) => return Err("malformed chunk size"),
                // `3 \r\n` or `3 x\r\n`: parsers that stop at the space and
                // parsers that read on disagree about such a line, so it is
                // refused rather than read either way.
                (State::SizeWs, _) => return Err("malformed chunk size"),
                (State::Ext, b) if b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80 => {
                    self.line += 1;
                    if self.line > MAX_LINE {
                        return Err("chunk extension too long");
                    }
                    State::Ext
                }
                (State::Ext, _) => return Err("malformed chunk extension"),
                (State::SizeLf, b'\n') if self.size == 0 => State::TrailerStart,
                (State::SizeLf, b'\n') => State::Data,
                (State::DataCr, b'\r') => State::DataLf,
                (State::DataLf, b'\n') => {
                    self.digits = 0;
                    self.line = 0;
                    State::Size
                }
                (State::TrailerStart, b'\r') => State::EndLf,
                (State::EndLf, b'\n') => {
                    self.state = State::Done;
                    return Ok((i, Step::Done));
                }
                // Trailer fields are field lines like a head's (RFC 9112
                // §7.1.2, §5): a token, a colon, then visible characters,
                // spaces and tabs. A line that starts with whitespace
                // (obs-fold) or has no colon is refused, as in a head.
                (State::TrailerStart | State::TrailerName, b) if crate::fields::is_tchar(b) => {
                    State::TrailerName
                }
                (State::TrailerName, b':') => State::TrailerValue,
                (State::TrailerValue, b'\r') => State::TrailerLf,
                (State::TrailerValue, b) if b == b'\t' || (b >= 0x20 && b != 0x7f) => {
                    State::TrailerValue
                }
                (State::TrailerStart | State::TrailerName | State::TrailerValue, _) => {
                    return Err("malformed trailer field")
                }
                (State::TrailerLf, b'\n') => State::TrailerStart,
                (State::Done, _) => return Ok((i - 1, Step::Done)),
                _ => return Err("malformed chunked framing"),
            };
            if self.state.in_trailers() {
                self.count_trailer()?;
                // The field lines, not the last chunk's line ending.
                if before != State::SizeLf {
                    if let Some(keep) = keep.as_deref_mut() {
                        keep.get_or_insert_with(Box::default).push(b);
                    }
                }
            }
        }
        Ok((
            i,
            if self.state == State::Done {
                Step::Done
            } else {
                Step::NeedMore
            },
        ))
    }

    /// One more byte of trailer fields, within [`MAX_TRAILERS`].
    fn count_trailer(&mut self) -> Result<(), &'static str> {
        self.trailers += 1;
        if self.trailers > MAX_TRAILERS {
            return Err("trailer section too large");
        }
        Ok(())
    }
}

fn hex(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` fed in pieces of `step` bytes.
    fn decode(input: &[u8], step: usize) -> Result<(Vec<u8>, usize), &'static str> {
        decode_keeping(input, step).map(|(data, used, _)| (data, used))
    }

    /// As [`decode`], also returning the trailer lines kept.
    fn decode_keeping(
        input: &[u8],
        step: usize,
    ) -> Result<(Vec<u8>, usize, Vec<u8>), &'static str> {
        let mut d = Decoder::new();
        let mut out = Vec::new();
        let mut kept: Kept = None;
        let mut pos = 0;
        let mut end = 0;
        while end < input.len() {
            end = (end + step).min(input.len());
            loop {
                let (n, s) = d.step(&input[pos..end], Some(&mut kept))?;
                match s {
                    Step::Data(a, b) => out.extend_from_slice(&input[pos + a..pos + b]),
                    Step::Done => return Ok((out, pos + n, kept.map_or_else(Vec::new, |k| *k))),
                    Step::NeedMore => {}
                }
                pos += n;
                if pos == end {
                    break;
                }
            }
        }
        Err("incomplete")
    }

    #[test]
    fn decodes_whatever_the_split() {
        // Whitespace before an extension's `;` is allowed (`BWS`).
        let body = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n1 \t;e\r\n!\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        let kept = assert_decodes_at_every_split(body, b"hello, world!");
        assert_eq!(kept, b"X-T: 1\r\n");
    }

    /// `body`, a chunked body followed by `NEXT`, decodes to `want` and
    /// ends just before `NEXT`, however it is split; returns the trailer
    /// lines kept, the same at every split.
    fn assert_decodes_at_every_split(body: &[u8], want: &[u8]) -> Vec<u8> {
        let whole = decode_keeping(body, body.len()).unwrap().2;
        for step in 1..body.len() {
            let (data, used, kept) = decode_keeping(body, step).unwrap();
            assert_eq!(data, want, "split {step}");
            assert_eq!(&body[used..], b"NEXT", "split {step}");
            assert_eq!(kept, whole, "split {step}");
        }
        whole
    }

    #[test]
    fn takes_well_formed_trailers() {
        for trailers in [
            &b""[..],
            b"X-T: 1\r\n",
            b"X-T:\r\n",
            b"x-t:\t a b \t\r\nChecksum: caf\xc3\xa9\r\n",
            b"!#$%&'*+-.^_`|~09azAZ:v\r\n",
        ] {
            let mut body = b"3\r\nabc\r\n0\r\n".to_vec();
            body.extend_from_slice(trailers);
            body.extend_from_slice(b"\r\nNEXT");
            let kept = assert_decodes_at_every_split(&body, b"abc");
            assert_eq!(kept, trailers, "the field lines as received");
        }
    }

    #[test]
    fn limits_the_trailer_section() {
        let mut body = b"0\r\n".to_vec();
        while body.len() < usize::from(MAX_TRAILERS) + 64 {
            body.extend_from_slice(b"X-Trailer: 0123456789\r\n");
        }
        body.extend_from_slice(b"\r\n");
        assert_eq!(decode(&body, body.len()), Err("trailer section too large"));
    }

    #[test]
    fn rejects_bad_framing() {
        for bad in [
            &b"x\r\n"[..],
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"11111111111111111\r\n",
            b"-1\r\n",
            b"5\r\nhello\r\n0\r\n\r\r\n",
            b"0\r\nX: a\0\r\n\r\n",
            // Whitespace after the size leads only to an extension.
            b"3 \r\nabc\r\n0\r\n\r\n",
            b"3\t\r\nabc\r\n0\r\n\r\n",
            b"3 x\r\nabc\r\n0\r\n\r\n",
            b"3 4\r\nabc\r\n0\r\n\r\n",
            // Trailer lines are field lines: a token, a colon, a value.
            b"0\r\nBad Trailer\r\n\r\n",
            b"0\r\nX-T : 1\r\n\r\n",
            b"0\r\n: 1\r\n\r\n",
            b"0\r\nX-T: 1\r\n folded\r\n\r\n",
            b"0\r\n\tX-T: 1\r\n\r\n",
            b"0\r\nX-T: a\x7fb\r\n\r\n",
            b"0\r\nX-T: a\x01b\r\n\r\n",
            b"0\r\nX-T: a\nb\r\n\r\n",
            b"0\r\nX-T: 1\n\r\n",
            b"0\r\nX\r\n\r\n",
        ] {
            assert!(
                decode(bad, bad.len()).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
