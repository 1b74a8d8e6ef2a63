//! A response's header fields.
//!
//! Nearly every response carries `Content-Type` and little else, so the
//! content type has a slot of its own: a response made by
//! [`Response::text`](crate::Response::text) and the like allocates nothing
//! for its fields. The other fields follow in the order they were added.
//!
//! Each field is checked once, when it is added: a response is written
//! only if none of its fields could split it, and knowing that costs the
//! writer one flag rather than a pass over every byte of every field.

use crate::response::HeaderText;
use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

const CONTENT_TYPE: &str = "content-type";

/// Header fields: the content type, then the rest in order.
#[derive(Clone, Default)]
pub(crate) struct Fields {
    content_type: Option<HeaderText>,
    rest: Vec<(HeaderText, HeaderText)>,
    /// Some field could split the response (see [`Fields::writable`]).
    unwritable: bool,
}

impl Fields {
    /// Fields holding only a content type.
    #[inline]
    pub(crate) fn with_content_type(value: HeaderText) -> Fields {
        Fields {
            unwritable: !is_text_value(&value),
            content_type: Some(value),
            rest: Vec::new(),
        }
    }

    /// Fields holding only a content type this crate wrote, known to be
    /// well-formed, so not checked again.
    pub(crate) const fn with_known_content_type(value: &'static str) -> Fields {
        Fields {
            content_type: Some(HeaderText::Borrowed(value)),
            rest: Vec::new(),
            unwritable: false,
        }
    }

    /// Appends a field. A first `Content-Type` takes the slot; a second
    /// one is kept after it, as added.
    pub(crate) fn add(&mut self, name: HeaderText, value: HeaderText) {
        self.unwritable |= !is_field(&name, &value);
        if self.content_type.is_none() && name.eq_ignore_ascii_case(CONTENT_TYPE) {
            self.content_type = Some(value);
        } else {
            self.rest.push((name, value));
        }
    }

    /// Removes every field named `name` (case-insensitive).
    pub(crate) fn remove(&mut self, name: &str) {
        if name.eq_ignore_ascii_case(CONTENT_TYPE) {
            self.content_type = None;
        }
        self.rest.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        if self.unwritable {
            // The bad field may have been the one removed.
            let writable = self.iter().all(|(n, v)| is_field(n, v));
            self.unwritable = !writable;
        }
    }

    /// Whether every field can be written as it is: a token for a name,
    /// and a value with no CR, LF or NUL that would split the response.
    pub(crate) fn writable(&self) -> bool {
        !self.unwritable
    }

    /// The first field named `name` (case-insensitive).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        if name.eq_ignore_ascii_case(CONTENT_TYPE) {
            if let Some(v) = &self.content_type {
                return Some(v);
            }
        }
        self.rest
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// Every field, the content type first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let content_type = self.content_type().map(|v| (CONTENT_TYPE, v));
        content_type.into_iter().chain(self.rest())
    }

    /// The content type's slot (its name is `content-type`).
    pub(crate) fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The content type when it is the only field and text the program
    /// wrote as a literal; `Some(None)` when there are no fields at all,
    /// `None` otherwise.
    pub(crate) fn static_content_type(&self) -> Option<Option<&'static str>> {
        if !self.rest.is_empty() {
            return None;
        }
        match self.content_type {
            None => Some(None),
            Some(Cow::Borrowed(s)) => Some(Some(s)),
            Some(Cow::Owned(_)) => None,
        }
    }

    /// The fields after the content type's slot, in order.
    pub(crate) fn rest(&self) -> impl Iterator<Item = (&str, &str)> {
        self.rest.iter().map(|(n, v)| (&**n, &**v))
    }
}

/// RFC 9110 §5.6.2 `tchar`, as a table: one load per byte.
static TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    let extra = b"!#$%&'*+-.^_`|~";
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
};

/// Whether `b` may appear in an RFC 9110 §5.6.2 `token` (a field name).
#[inline]
pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// A name that is an RFC 9110 §5.6.2 `token`, and a value of visible
/// characters, spaces and tabs (§5.5).
fn is_field(name: &str, value: &str) -> bool {
    !name.is_empty() && name.bytes().all(is_tchar) && is_value(value)
}

/// [`is_value`] for a [`HeaderText`]. A literal (`Cow::Borrowed`, so
/// `'static` and never changed) is the same on every response of a
/// handler that answers with it, so the last literal a shard found valid
/// is remembered by where it lies, and a response that repeats it costs
/// a comparison instead of a pass over its bytes.
#[inline]
fn is_text_value(value: &HeaderText) -> bool {
    let Cow::Borrowed(literal) = value else {
        return is_value(value);
    };
    let at = (literal.as_ptr() as usize, literal.len());
    if LAST_VALID_LITERAL.with(Cell::get) == at {
        return true;
    }
    let valid = is_value(literal);
    if valid {
        LAST_VALID_LITERAL.with(|last| last.set(at));
    }
    valid
}

thread_local! {
    /// The address and length of the last literal value found valid; no
    /// string is `usize::MAX` bytes long.
    static LAST_VALID_LITERAL: Cell<(usize, usize)> = const { Cell::new((0, usize::MAX)) };
}

/// A field value may hold visible characters, spaces and tabs (RFC 9110
/// §5.5) — never CR, LF or NUL, which would split the response.
fn is_value(s: &str) -> bool {
    // No early exit, so the loop vectorizes.
    s.bytes()
        .fold(true, |ok, b| ok & (b == b'\t' || b >= 0x20 && b != 0x7f))
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_takes_the_slot_once() {
        let mut f = Fields::default();
        f.add("x-a".into(), "1".into());
        f.add("Content-Type".into(), "text/plain".into());
        f.add("content-type".into(), "text/html".into());
        assert_eq!(f.get("CONTENT-TYPE"), Some("text/plain"));
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            [
                ("content-type", "text/plain"),
                ("x-a", "1"),
                ("content-type", "text/html")
            ]
        );
        f.remove("content-type");
        assert_eq!(f.get("content-type"), None);
        assert_eq!(f.iter().collect::<Vec<_>>(), [("x-a", "1")]);
    }

    #[test]
    fn a_remembered_literal_lets_nothing_else_through() {
        const GOOD: &str = "text/plain\r\nx-a: b";
        let bad_in_full: &'static str = GOOD;
        let good_prefix: &'static str = &GOOD[..10];
        for _ in 0..2 {
            // The valid prefix is remembered: the whole literal, at the
            // same address, is still checked, and refused.
            assert!(Fields::with_content_type(good_prefix.into()).writable());
            assert!(!Fields::with_content_type(bad_in_full.into()).writable());
            assert!(!Fields::with_content_type(String::from(bad_in_full).into()).writable());
            assert!(Fields::with_content_type(String::from(good_prefix).into()).writable());
        }
    }

    #[test]
    fn a_field_that_could_split_the_response_is_caught_when_added() {
        let fields = |name: &'static str, value: &'static str| {
            let mut f = Fields::default();
            f.add(name.into(), value.into());
            f
        };
        assert!(fields("x-a", "b c\td").writable());
        assert!(!fields("x-a", "b\r\nx: y").writable());
        assert!(!fields("x a", "b").writable());
        assert!(!fields("", "b").writable());
        assert!(!fields("content-type", "a\nb").writable());
        assert!(!fields("x-a", "nul\0").writable());
        assert!(!Fields::with_content_type("text/plain\r\n".into()).writable());
        assert!(Fields::with_known_content_type("text/plain").writable());

        // Removing the bad field makes the rest writable again; removing
        // another does not.
        let mut f = fields("x-bad", "a\rb");
        f.add("x-good".into(), "1".into());
        f.remove("x-good");
        assert!(!f.writable());
        f.remove("X-Bad");
        assert!(f.writable());
    }
}
