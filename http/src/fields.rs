//! A response's header fields.
//!
//! Nearly every response carries `Content-Type` and little else, so the
//! content type has a slot of its own: a response made by
//! [`Response::text`](crate::Response::text) and the like allocates nothing
//! for its fields. The other fields follow in the order they were added.

use crate::response::HeaderText;
use std::fmt;

const CONTENT_TYPE: &str = "content-type";

/// Header fields: the content type, then the rest in order.
#[derive(Clone, Default)]
pub(crate) struct Fields {
    content_type: Option<HeaderText>,
    rest: Vec<(HeaderText, HeaderText)>,
}

impl Fields {
    /// Fields holding only a content type.
    pub(crate) fn with_content_type(value: HeaderText) -> Fields {
        Fields {
            content_type: Some(value),
            rest: Vec::new(),
        }
    }

    /// Appends a field. A first `Content-Type` takes the slot; a second
    /// one is kept after it, as added.
    pub(crate) fn add(&mut self, name: HeaderText, value: HeaderText) {
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
        let content_type = self.content_type.iter().map(|v| (CONTENT_TYPE, &**v));
        content_type.chain(self.rest.iter().map(|(n, v)| (&**n, &**v)))
    }
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
}
