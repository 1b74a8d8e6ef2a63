//! Response heads written recently, kept per shard until the date changes.
//!
//! Most responses a server sends repeat one of a few heads: the same
//! status, content type and length, and the date of this second. A head
//! whose fields are only a content type the program wrote as a literal (a
//! `&'static str`, known by its address) is looked up here first and, when
//! found, written with one copy instead of being put together piece by
//! piece. [`clear`] runs when the date moves on, so a cached head never
//! carries an old date.

use super::Length;
use crate::fields::Fields;
use std::cell::RefCell;

/// Heads longer than this are written each time (they carry long fields,
/// and are rare).
const MAX_LEN: usize = 160;

/// Heads kept: enough for the few kinds of answer a busy route mixes.
const ENTRIES: usize = 4;

/// Everything a cached head depends on, besides the date.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Key {
    status: u16,
    minor: u8,
    keep_alive: bool,
    length: Length,
    /// The content type's address and length: a `&'static str` never
    /// changes, so equal addresses and lengths mean equal text.
    content_type: (usize, usize),
}

impl Key {
    /// The key for a head, if it is one the cache keeps: no fields but a
    /// content type that is a `&'static str` (or none).
    pub(super) fn of(
        status: u16,
        fields: &Fields,
        length: Length,
        keep_alive: bool,
        minor: u8,
    ) -> Option<Key> {
        let content_type = fields.static_content_type()?;
        Some(Key {
            status,
            minor,
            keep_alive,
            length,
            content_type: content_type.map_or((0, 0), |s| (s.as_ptr() as usize, s.len())),
        })
    }
}

struct Entry {
    key: Key,
    len: usize,
    bytes: [u8; MAX_LEN],
}

struct Heads {
    entries: [Option<Entry>; ENTRIES],
    /// The entry the next new head replaces.
    next: usize,
}

thread_local! {
    static HEADS: RefCell<Heads> = const {
        RefCell::new(Heads {
            entries: [const { None }; ENTRIES],
            next: 0,
        })
    };
}

/// Appends the head cached for `key` to `out`; `false` if there is none.
pub(super) fn write(key: &Key, out: &mut Vec<u8>) -> bool {
    // The closure only makes a call, so that `with` is inlined and reads
    // the thread-local directly rather than through a call of its own.
    HEADS.with(|heads| copy_out(&heads.borrow(), key, out))
}

/// Appends the head `heads` holds for `key` to `out`; `false` if none.
fn copy_out(heads: &Heads, key: &Key, out: &mut Vec<u8>) -> bool {
    match heads.entries.iter().flatten().find(|e| e.key == *key) {
        Some(e) => {
            out.extend_from_slice(&e.bytes[..e.len]);
            true
        }
        None => false,
    }
}

/// Keeps `head`, just written for `key`, replacing the oldest entry.
pub(super) fn keep(key: Key, head: &[u8]) {
    if head.len() > MAX_LEN {
        return;
    }
    HEADS.with(|heads| {
        let mut heads = heads.borrow_mut();
        let at = heads.next;
        heads.next = (at + 1) % ENTRIES;
        let mut bytes = [0; MAX_LEN];
        bytes[..head.len()].copy_from_slice(head);
        heads.entries[at] = Some(Entry {
            key,
            len: head.len(),
            bytes,
        });
    });
}

/// Forgets every head: the date they carry has passed.
pub(crate) fn clear() {
    HEADS.with(|heads| {
        let mut heads = heads.borrow_mut();
        heads.entries = [const { None }; ENTRIES];
        heads.next = 0;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(status: u16, content_type: &'static str) -> Key {
        let fields = Fields::with_known_content_type(content_type);
        Key::of(status, &fields, Length::Known(2), true, 1).expect("cacheable")
    }

    #[test]
    fn only_fields_of_a_static_content_type_are_cached() {
        let mut fields = Fields::with_content_type(String::from("text/plain").into());
        assert!(Key::of(200, &fields, Length::None, true, 1).is_none());
        fields = Fields::with_known_content_type("text/plain");
        fields.add("x-a".into(), "1".into());
        assert!(Key::of(200, &fields, Length::None, true, 1).is_none());
        assert!(Key::of(200, &Fields::default(), Length::None, true, 1).is_some());
    }

    #[test]
    fn a_head_is_found_by_its_key_until_cleared() {
        clear();
        let (a, b) = (key(200, "text/plain"), key(404, "text/plain"));
        keep(a, b"head a");
        let mut out = Vec::new();
        assert!(write(&a, &mut out));
        assert!(!write(&b, &mut out));
        assert_eq!(out, b"head a");
        clear();
        assert!(!write(&a, &mut out));
    }

    #[test]
    fn a_new_date_empties_the_cache() {
        let k = key(200, "text/plain");
        keep(k, b"head");
        crate::date::force_refresh();
        assert!(!write(&k, &mut Vec::new()));
    }

    #[test]
    fn the_oldest_head_makes_room_and_long_ones_are_not_kept() {
        clear();
        let keys: Vec<Key> = (0..=ENTRIES as u16).map(|i| key(200 + i, "a/b")).collect();
        for k in &keys {
            keep(*k, b"h");
        }
        let mut out = Vec::new();
        assert!(!write(&keys[0], &mut out), "the first was replaced");
        assert!(keys[1..].iter().all(|k| write(k, &mut out)));
        let long = key(500, "a/b");
        keep(long, &[b'x'; MAX_LEN + 1]);
        assert!(!write(&long, &mut out));
    }
}
