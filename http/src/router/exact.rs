//! Parameterless patterns by their text: a path equal to one is routed
//! there (static beats everything) without a walk down the tree.

use rustc_hash::FxHashMap;

/// Up to this many patterns are compared one by one: for a service's
/// handful of static routes, a few length comparisons cost less than
/// hashing the path and probing a table.
const SCAN_MAX: usize = 8;

/// The routes of parameterless patterns, by pattern text.
#[derive(Default)]
pub(super) struct Exact {
    /// The first [`SCAN_MAX`] patterns, in the order added.
    few: Vec<(Box<[u8]>, usize)>,
    /// Every pattern, once there are more than [`SCAN_MAX`].
    many: FxHashMap<Box<[u8]>, usize>,
}

impl Exact {
    /// Routes `pattern` to route `index`.
    pub(super) fn insert(&mut self, pattern: &[u8], index: usize) {
        if !self.many.is_empty() {
            self.many.insert(pattern.into(), index);
        } else if self.few.len() < SCAN_MAX {
            self.few.push((pattern.into(), index));
        } else {
            self.many = self.few.drain(..).collect();
            self.many.insert(pattern.into(), index);
        }
    }

    /// The route of the pattern equal to `path`.
    #[inline]
    pub(super) fn get(&self, path: &[u8]) -> Option<usize> {
        if self.many.is_empty() {
            self.few
                .iter()
                .find(|(pattern, _)| crate::eq::eq(pattern, path))
                .map(|&(_, index)| index)
        } else {
            self.many.get(path).copied()
        }
    }

    /// How many patterns there are.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.few.len() + self.many.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn found_by_scan_and_by_hash_alike() {
        let mut exact = Exact::default();
        let paths: Vec<String> = (0..3 * SCAN_MAX).map(|i| format!("/p{i}")).collect();
        for (i, p) in paths.iter().enumerate() {
            exact.insert(p.as_bytes(), i);
            assert_eq!(exact.len(), i + 1);
            for (j, q) in paths[..=i].iter().enumerate() {
                assert_eq!(
                    exact.get(q.as_bytes()),
                    Some(j),
                    "{q} with {} patterns",
                    i + 1
                );
            }
            assert_eq!(exact.get(b"/p"), None);
            assert_eq!(exact.get(b"/"), None);
        }
    }
}
