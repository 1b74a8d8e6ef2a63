//! Host values: `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2),
//! checked on every request, so the common case takes one pass of table
//! lookups.

use std::cell::Cell;

/// Whether `value` is `uri-host [ ":" port ]`: a reg-name or IPv4
/// address, or an IP literal in brackets, then an optional port of
/// digits. An empty value is valid: it is what a client sends when the
/// target has no authority.
///
/// Clients send the same host request after request, so the last value
/// a shard found valid is kept, and a request that repeats it costs a
/// comparison.
// Inlined into the parser, its one caller: the remembered value's
// comparison is the whole of the common case, and a call cost a third
// as much again. The complete check (`check`) stays out of line.
#[inline(always)]
pub(crate) fn is_valid(value: &[u8]) -> bool {
    // The closure only copies the value out, so that `with` is inlined
    // and reads the thread-local directly.
    if LAST_VALID.with(Cell::get).is(value) {
        return true;
    }
    let valid = check(value);
    if let (true, Some(remembered)) = (valid, Remembered::of(value)) {
        LAST_VALID.with(|last| last.set(remembered));
    }
    valid
}

/// A short valid host, kept to compare the next one with.
#[derive(Clone, Copy)]
struct Remembered {
    bytes: [u8; REMEMBERED_MAX],
    /// Over `REMEMBERED_MAX` while nothing is remembered yet.
    len: u8,
}

/// Longer hosts are checked every time.
const REMEMBERED_MAX: usize = 31;

impl Remembered {
    const NOTHING: Remembered = Remembered {
        bytes: [0; REMEMBERED_MAX],
        len: u8::MAX,
    };

    /// `None` for a value too long to keep.
    fn of(value: &[u8]) -> Option<Remembered> {
        let mut bytes = [0; REMEMBERED_MAX];
        bytes.get_mut(..value.len())?.copy_from_slice(value);
        Some(Remembered {
            bytes,
            len: value.len() as u8,
        })
    }

    fn is(&self, value: &[u8]) -> bool {
        // `NOTHING`'s length is past the array: no slice, no match.
        self.bytes
            .get(..usize::from(self.len))
            .is_some_and(|kept| crate::eq::eq(kept, value))
    }
}

thread_local! {
    static LAST_VALID: Cell<Remembered> = const {
        Cell::new(Remembered::NOTHING)
    };
}

/// The check itself. The sum of the bytes' classes says, in one pass, how
/// many colons there are and whether any byte needs the complete check
/// or is never valid; 255 bytes cannot carry a count into the next
/// class's bits.
fn check(value: &[u8]) -> bool {
    if value.len() <= 255 {
        let sum: u32 = value.iter().map(|&b| CLASS[b as usize]).sum();
        match sum {
            0 => return true,
            // One colon: the port after it is digits.
            COLON => {
                let port = value
                    .iter()
                    .rposition(|&b| b == b':')
                    .map_or(value, |i| &value[i + 1..]);
                return port.iter().all(u8::is_ascii_digit);
            }
            _ if sum >= NEVER => return false,
            _ => {}
        }
    }
    is_valid_slowly(value)
}

/// What a byte may be in a host, as a weight: a sum of up to 255
/// weights keeps each kind's count in bits of its own.
const PLAIN: u32 = 0;
const COLON: u32 = 1;
/// `%`, `[` and `]`: valid only in their places, so checked slowly.
const SPECIAL: u32 = 1 << 8;
/// Any other byte is never part of a host.
const NEVER: u32 = 1 << 16;

static CLASS: [u32; 256] = {
    let mut class = [NEVER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if is_unreserved_or_sub_delim(c) {
            class[b] = PLAIN;
        }
        b += 1;
    }
    class[b':' as usize] = COLON;
    class[b'%' as usize] = SPECIAL;
    class[b'[' as usize] = SPECIAL;
    class[b']' as usize] = SPECIAL;
    class
};

/// The complete check, for values with `%` or brackets (or over 255
/// bytes).
fn is_valid_slowly(value: &[u8]) -> bool {
    let (host_ok, rest) = match value {
        [b'[', literal @ ..] => match literal.iter().position(|&b| b == b']') {
            Some(end) => (is_ip_literal(&literal[..end]), &literal[end + 1..]),
            None => return false,
        },
        _ => {
            let end = value.iter().position(|&b| b == b':').unwrap_or(value.len());
            (is_reg_name(&value[..end]), &value[end..])
        }
    };
    host_ok
        && match rest {
            [] => true,
            [b':', port @ ..] => port.iter().all(u8::is_ascii_digit),
            _ => false,
        }
}

/// `reg-name = *( unreserved / pct-encoded / sub-delims )` (RFC 3986
/// §3.2.2); an IPv4 address is one too.
fn is_reg_name(name: &[u8]) -> bool {
    let mut i = 0;
    while i < name.len() {
        match name[i] {
            b'%' => {
                if !name
                    .get(i + 1..i + 3)
                    .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
                {
                    return false;
                }
                i += 3;
            }
            b if is_unreserved_or_sub_delim(b) => i += 1,
            _ => return false,
        }
    }
    true
}

/// Inside `[` `]`: an IPv6 address, or `v` HEXDIG+ `.` and then
/// unreserved, sub-delims or `:` (IPvFuture).
fn is_ip_literal(literal: &[u8]) -> bool {
    match literal {
        [b'v' | b'V', rest @ ..] => match rest.iter().position(|&b| b == b'.') {
            Some(dot) => {
                dot > 0
                    && rest[..dot].iter().all(u8::is_ascii_hexdigit)
                    && rest.len() > dot + 1
                    && rest[dot + 1..]
                        .iter()
                        .all(|&b| b == b':' || is_unreserved_or_sub_delim(b))
            }
            None => false,
        },
        _ => std::str::from_utf8(literal)
            .ok()
            .and_then(|s| s.parse::<std::net::Ipv6Addr>().ok())
            .is_some(),
    }
}

const fn is_unreserved_or_sub_delim(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_values() {
        let valid = [
            "",
            "example.com",
            "example.com:8080",
            "a:",
            "127.0.0.1:9",
            "xn--caf-dma.example",
            "a%2Eb",
            "a%2e:1",
            "!$&'()*+,;=-._~",
            "[::1]",
            "[2001:db8::7]:443",
            "[v1.fe80::a+en1]",
        ];
        let invalid = [
            "a b",
            "a/b",
            "u@a",
            "a:b",
            "a:80:80",
            "a%2",
            "a%zz",
            "[::1",
            "[::1]x",
            "[::1]:x",
            "[not:v6]",
            "[]",
            "[v1.]",
            "[v.x]",
            "a\"b",
            "caf\u{e9}",
        ];
        // Twice each, and in turns: the second answer may be the
        // remembered one.
        for _ in 0..2 {
            for (v, bad) in valid.iter().zip(invalid.iter().cycle()) {
                assert!(is_valid(v.as_bytes()), "{v:?}");
                assert!(!is_valid(bad.as_bytes()), "{bad:?}");
                assert!(!is_valid(format!("{v} ").as_bytes()), "{v:?} and a space");
            }
        }
        for v in invalid {
            assert!(!is_valid(v.as_bytes()), "{v:?}");
        }
        let long = "a".repeat(300);
        assert!(is_valid(long.as_bytes()), "over 255 bytes: the slow way");
        assert!(!is_valid(format!("{long} ").as_bytes()));
        // Past what is remembered: a prefix is not taken for the whole.
        let at_max = "b".repeat(REMEMBERED_MAX);
        let over = format!("{at_max}:x");
        assert!(is_valid(at_max.as_bytes()));
        assert!(!is_valid(over.as_bytes()));
        let longer = "c".repeat(REMEMBERED_MAX + 1);
        assert!(is_valid(longer.as_bytes()));
        assert!(!is_valid(
            format!("{}:x", &longer[..REMEMBERED_MAX]).as_bytes()
        ));
    }

    /// The one-pass check agrees with the complete one on every string of
    /// up to five bytes from an alphabet of each kind of byte.
    #[test]
    fn the_fast_path_agrees_with_the_complete_check() {
        let alphabet = b"a1:%[]v. f@";
        let mut value = Vec::new();
        for len in 0..=5u32 {
            for mut n in 0..alphabet.len().pow(len) {
                value.clear();
                for _ in 0..len {
                    value.push(alphabet[n % alphabet.len()]);
                    n /= alphabet.len();
                }
                assert_eq!(
                    check(&value),
                    is_valid_slowly(&value),
                    "{:?}",
                    String::from_utf8_lossy(&value)
                );
            }
        }
    }
}
