//! The radix tree behind the router.
//!
//! Static text is compressed into shared prefixes; a `:param` matches one
//! path segment (up to the next `/`), a `*wildcard` the rest of the path.
//! Lookup tries static children first, then the parameter, then the
//! wildcard, and backtracks, so `/users/new` beats `/users/:id`, which
//! beats `/users/*rest`, whatever the order routes were added in.

use crate::parse::Span;

/// One piece of a route pattern.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece<'p> {
    Static(&'p str),
    Param(&'p str),
    Wildcard(&'p str),
}

/// Splits a pattern such as `/users/:id/*rest` into pieces.
///
/// # Panics
///
/// On a pattern that does not start with `/`, an unnamed or misplaced
/// parameter, or a wildcard that is not last: route tables are built at
/// start-up, and a wrong one is a programming error.
pub(crate) fn pieces(pattern: &str) -> Vec<Piece<'_>> {
    assert!(
        pattern.starts_with('/'),
        "route {pattern:?} must start with '/'"
    );
    let mut out = Vec::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        let at_segment =
            out.is_empty() || matches!(out.last(), Some(Piece::Static(s)) if s.ends_with('/'));
        match rest.as_bytes()[0] {
            b @ (b':' | b'*') => {
                assert!(
                    at_segment,
                    "in route {pattern:?}, parameters must fill a whole segment"
                );
                let end = rest.find('/').unwrap_or(rest.len());
                let name = &rest[1..end];
                assert!(!name.is_empty(), "unnamed parameter in route {pattern:?}");
                if b == b'*' {
                    assert!(end == rest.len(), "a wildcard must end route {pattern:?}");
                    out.push(Piece::Wildcard(name));
                } else {
                    out.push(Piece::Param(name));
                }
                rest = &rest[end..];
            }
            _ => {
                // `:` and `*` are special only at the start of a segment.
                let end = rest
                    .as_bytes()
                    .windows(2)
                    .position(|w| w[0] == b'/' && (w[1] == b':' || w[1] == b'*'))
                    .map_or(rest.len(), |i| i + 1);
                out.push(Piece::Static(&rest[..end]));
                rest = &rest[end..];
            }
        }
    }
    out
}

#[derive(Debug, Default)]
pub(crate) struct Node {
    prefix: Box<[u8]>,
    /// Static children; their prefixes start with distinct bytes.
    children: Vec<Node>,
    param: Option<Box<(Box<str>, Node)>>,
    wildcard: Option<(Box<str>, usize)>,
    /// The route (index into the router's table) ending here.
    route: Option<usize>,
}

impl Node {
    /// Adds the route `pieces` → `route`; returns the route index already
    /// there for the same pattern shape, if any (the caller merges them).
    ///
    /// # Panics
    ///
    /// When a parameter or wildcard at the same place has another name.
    pub(crate) fn insert(&mut self, pieces: &[Piece<'_>], route: usize) -> usize {
        let Some((first, rest)) = pieces.split_first() else {
            return *self.route.get_or_insert(route);
        };
        match first {
            Piece::Static(s) => self.insert_static(s.as_bytes(), rest, route),
            Piece::Param(name) => {
                let param = self
                    .param
                    .get_or_insert_with(|| Box::new(((*name).into(), Node::default())));
                assert!(
                    &*param.0 == *name,
                    "conflicting parameter names :{} and :{name} at the same place",
                    param.0
                );
                param.1.insert(rest, route)
            }
            Piece::Wildcard(name) => {
                let (have, r) = self.wildcard.get_or_insert_with(|| ((*name).into(), route));
                assert!(
                    &**have == *name,
                    "conflicting wildcard names *{have} and *{name} at the same place"
                );
                *r
            }
        }
    }

    fn insert_static(&mut self, s: &[u8], rest: &[Piece<'_>], route: usize) -> usize {
        let common = self
            .prefix
            .iter()
            .zip(s)
            .take_while(|(a, b)| a == b)
            .count();
        if common < self.prefix.len() {
            // Split: this node keeps the common part, a child the rest.
            let child = Node {
                prefix: self.prefix[common..].into(),
                children: std::mem::take(&mut self.children),
                param: self.param.take(),
                wildcard: self.wildcard.take(),
                route: self.route.take(),
            };
            self.prefix = self.prefix[..common].into();
            self.children = vec![child];
        }
        let s = &s[common..];
        if s.is_empty() {
            return self.insert(rest, route);
        }
        match self.children.iter_mut().find(|c| c.prefix[0] == s[0]) {
            Some(child) => child.insert_static(s, rest, route),
            None => {
                self.children.push(Node {
                    prefix: s.into(),
                    ..Node::default()
                });
                let child = self.children.last_mut().expect("just pushed");
                child.insert(rest, route)
            }
        }
    }

    /// Finds the route for `path`; `params` gets each parameter's byte
    /// range in `path`, in pattern order (a path is at most a request
    /// line long, so its offsets fit a `u32`).
    pub(crate) fn lookup(&self, path: &[u8], at: usize, params: &mut Vec<Span>) -> Option<usize> {
        let rest = strip_prefix(&path[at..], &self.prefix)?;
        let at = at + self.prefix.len();
        if rest.is_empty() {
            if let Some(r) = self.route {
                return Some(r);
            }
        }
        if let Some(&b) = rest.first() {
            if let Some(child) = self.children.iter().find(|c| c.prefix[0] == b) {
                if let Some(r) = child.lookup(path, at, params) {
                    return Some(r);
                }
            }
        }
        if let Some(param) = &self.param {
            let len = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
            if len > 0 {
                params.push((at as u32, (at + len) as u32));
                if let Some(r) = param.1.lookup(path, at + len, params) {
                    return Some(r);
                }
                params.pop();
            }
        }
        if let Some((_, r)) = self.wildcard {
            params.push((at as u32, path.len() as u32));
            return Some(r);
        }
        None
    }
}

/// `s` without `prefix`, if it starts with it. Prefixes are short (often
/// one byte), where a byte loop beats a call to `memcmp`.
#[inline]
fn strip_prefix<'s>(s: &'s [u8], prefix: &[u8]) -> Option<&'s [u8]> {
    let (head, rest) = s.split_at_checked(prefix.len())?;
    let mut same = true;
    for (a, b) in head.iter().zip(prefix) {
        same &= a == b;
    }
    same.then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_patterns() {
        assert_eq!(
            pieces("/a/:b/c*"),
            vec![
                Piece::Static("/a/"),
                Piece::Param("b"),
                Piece::Static("/c*")
            ]
        );
        assert_eq!(
            pieces("/f/*p"),
            vec![Piece::Static("/f/"), Piece::Wildcard("p")]
        );
    }

    #[test]
    #[should_panic(expected = "must start")]
    fn pattern_without_slash_panics() {
        pieces("a");
    }
}
