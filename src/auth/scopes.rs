//! Scopes: the space-separated lists of OAuth (RFC 6749 section 3.3), and
//! which scopes a granted set covers once broader scopes imply narrower
//! ones.

use std::collections::{BTreeSet, HashMap};

/// The scope that asks for a refresh token: it names no permission on a
/// resource, so it never appears in a challenge or in `scopes_supported`.
pub(crate) const OFFLINE_ACCESS: &str = "offline_access";

/// The scopes of a space-separated list, without duplicates.
pub(crate) fn parse(list: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    list.split(' ')
        .filter(|s| !s.is_empty() && seen.insert(*s))
        .map(str::to_owned)
        .collect()
}

/// True if `scope` is a scope token as RFC 6749 allows: one or more of
/// `%x21 / %x23-5B / %x5D-7E` (no space, `"` or `\`).
pub(crate) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Which scopes imply which (`broad` implies each of its narrower ones),
/// followed transitively.
#[derive(Debug, Clone, Default)]
pub(crate) struct Implications {
    narrower: HashMap<String, Vec<String>>,
}

impl Implications {
    pub(crate) fn add(&mut self, broad: &str, narrow: &str) {
        self.narrower
            .entry(broad.to_owned())
            .or_default()
            .push(narrow.to_owned());
    }

    /// Every scope `granted` covers: the granted ones and all they imply.
    pub(crate) fn covered<'a>(&'a self, granted: &'a [String]) -> BTreeSet<&'a str> {
        let mut covered: BTreeSet<&str> = BTreeSet::new();
        let mut todo: Vec<&str> = granted.iter().map(String::as_str).collect();
        while let Some(scope) = todo.pop() {
            if covered.insert(scope)
                && let Some(narrower) = self.narrower.get(scope)
            {
                todo.extend(narrower.iter().map(String::as_str));
            }
        }
        covered
    }

    /// True if `granted` covers every scope of `needed`.
    pub(crate) fn satisfies(&self, granted: &[String], needed: &[String]) -> bool {
        if needed.iter().all(|n| granted.contains(n)) {
            return true;
        }
        let covered = self.covered(granted);
        needed.iter().all(|n| covered.contains(n.as_str()))
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    fn owned(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_list_splits_on_spaces_without_duplicates() {
        assert_eq!(parse(" a  b a c "), owned(&["a", "b", "c"]));
        assert!(parse("").is_empty());
    }

    #[test]
    fn scope_tokens_exclude_quotes_backslashes_and_spaces() {
        assert!(is_scope_token("mcp:tools.read"));
        for bad in ["", "a b", "a\"b", "a\\b", "é"] {
            assert!(!is_scope_token(bad), "{bad}");
        }
    }

    #[test]
    fn broader_scopes_cover_narrower_ones_transitively() {
        let mut implies = Implications::default();
        implies.add("admin", "write");
        implies.add("write", "read");
        assert!(implies.satisfies(&owned(&["admin"]), &owned(&["read", "write"])));
        assert!(implies.satisfies(&owned(&["write"]), &owned(&["read"])));
        assert!(!implies.satisfies(&owned(&["read"]), &owned(&["write"])));
        assert!(!implies.satisfies(&owned(&["write"]), &owned(&["read", "admin"])));
        assert!(implies.satisfies(&[], &[]));
    }

    #[test]
    fn a_cycle_of_implications_ends() {
        let mut implies = Implications::default();
        implies.add("a", "b");
        implies.add("b", "a");
        assert!(implies.satisfies(&owned(&["a"]), &owned(&["b"])));
        assert!(!implies.satisfies(&owned(&["a"]), &owned(&["c"])));
    }
}
