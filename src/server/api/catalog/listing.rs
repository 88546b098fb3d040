//! One kind of the catalog (tools, resources, templates or prompts): items
//! by key, listed in the order they were added, a page at a time.
//!
//! Each item gets a sequence number when its key is first added; a page is
//! the items after the cursor's number. So removing an item never shifts a
//! client that is paging through the list onto a page it has seen or past
//! one it has not: items that stay keep their place, new items come last.
//! The cursor is opaque to the client (base64url of `"c1:<number>"`); any
//! other string is an invalid cursor (-32602).

use std::collections::{BTreeMap, HashMap};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::protocol::jsonrpc::ErrorObject;

/// The prefix of a decoded cursor: the version of the cursor format.
const CURSOR_PREFIX: &str = "c1:";

/// Items by key, in the order their keys were first added.
#[derive(Debug, Clone)]
pub(crate) struct Listing<T> {
    by_seq: BTreeMap<u64, T>,
    seq_of: HashMap<String, u64>,
    next_seq: u64,
}

impl<T> Default for Listing<T> {
    fn default() -> Self {
        Self {
            by_seq: BTreeMap::new(),
            seq_of: HashMap::new(),
            next_seq: 0,
        }
    }
}

/// One page of a listing.
#[derive(Debug)]
pub(crate) struct Page<'a, T> {
    pub(crate) items: Vec<&'a T>,
    /// The cursor of the next page, if there are more items.
    pub(crate) next: Option<String>,
}

impl<T> Listing<T> {
    /// Adds `item` under `key`, or replaces the item there (keeping its
    /// place). True if the key is new.
    pub(crate) fn insert(&mut self, key: &str, item: T) -> bool {
        if let Some(seq) = self.seq_of.get(key) {
            self.by_seq.insert(*seq, item);
            return false;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.seq_of.insert(key.to_owned(), seq);
        self.by_seq.insert(seq, item);
        true
    }

    /// Removes the item under `key`; false if there was none.
    pub(crate) fn remove(&mut self, key: &str) -> bool {
        match self.seq_of.remove(key) {
            Some(seq) => self.by_seq.remove(&seq).is_some(),
            None => false,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&T> {
        self.seq_of.get(key).and_then(|seq| self.by_seq.get(seq))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_seq.is_empty()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.by_seq.values()
    }

    /// The page after `cursor` (the first page without one), of at most
    /// `size` items.
    ///
    /// # Errors
    ///
    /// -32602 for a cursor this server did not hand out.
    pub(crate) fn page(&self, cursor: Option<&str>, size: usize) -> Result<Page<'_, T>, ErrorObject> {
        self.page_where(cursor, size, |_| true)
    }

    /// As [`Self::page`], of the items `keep` is true for only: a page
    /// holds `size` of those when there are as many, and the next cursor
    /// points past the last one (what was skipped is not seen again).
    ///
    /// # Errors
    ///
    /// -32602 for a cursor this server did not hand out.
    pub(crate) fn page_where(
        &self,
        cursor: Option<&str>,
        size: usize,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Page<'_, T>, ErrorObject> {
        let start = match cursor {
            None => 0,
            Some(cursor) => decode_cursor(cursor)
                .ok_or_else(|| ErrorObject::invalid_params(format!("invalid cursor: {cursor:?}")))?,
        };
        let size = size.max(1);
        let mut rest = self.by_seq.range(start..).filter(|(_, item)| keep(item));
        let items: Vec<(&u64, &T)> = rest.by_ref().take(size).collect();
        let next = match (rest.next(), items.last()) {
            (Some(_), Some((last, _))) => Some(encode_cursor(**last + 1)),
            _ => None,
        };
        Ok(Page {
            items: items.into_iter().map(|(_, item)| item).collect(),
            next,
        })
    }
}

fn encode_cursor(seq: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{seq}"))
}

fn decode_cursor(cursor: &str) -> Option<u64> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = std::str::from_utf8(&raw).ok()?;
    text.strip_prefix(CURSOR_PREFIX)?.parse().ok()
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    fn listing(keys: &[&str]) -> Listing<String> {
        let mut l = Listing::default();
        for k in keys {
            l.insert(k, (*k).to_owned());
        }
        l
    }

    fn names(page: &Page<'_, String>) -> Vec<String> {
        page.items.iter().map(|s| (*s).clone()).collect()
    }

    #[test]
    fn pages_follow_insertion_order_and_end_without_a_cursor() {
        let l = listing(&["a", "b", "c", "d", "e"]);
        let p1 = l.page(None, 2).unwrap();
        assert_eq!(names(&p1), ["a", "b"]);
        let p2 = l.page(p1.next.as_deref(), 2).unwrap();
        assert_eq!(names(&p2), ["c", "d"]);
        let p3 = l.page(p2.next.as_deref(), 2).unwrap();
        assert_eq!(names(&p3), ["e"]);
        assert!(p3.next.is_none());
        let whole = l.page(None, 5).unwrap();
        assert_eq!(whole.items.len(), 5);
        assert!(whole.next.is_none(), "an exactly full page has no next page");
    }

    #[test]
    fn removal_does_not_shift_a_client_between_pages() {
        let mut l = listing(&["a", "b", "c", "d"]);
        let p1 = l.page(None, 2).unwrap();
        let next = p1.next.clone();
        assert!(l.remove("a"));
        assert!(!l.remove("a"));
        assert_eq!(names(&l.page(next.as_deref(), 2).unwrap()), ["c", "d"]);
        // Replacing keeps the place; a new key goes last.
        assert!(!l.insert("c", "C".into()));
        assert!(l.insert("a", "A".into()));
        assert_eq!(names(&l.page(None, 10).unwrap()), ["b", "C", "d", "A"]);
    }

    #[test]
    fn a_filtered_listing_fills_its_pages_with_what_it_keeps() {
        let l = listing(&["a", "B", "C", "d", "E", "f"]);
        let lower = |s: &String| s.chars().all(char::is_lowercase);
        let p1 = l.page_where(None, 2, lower).unwrap();
        assert_eq!(names(&p1), ["a", "d"]);
        let p2 = l.page_where(p1.next.as_deref(), 2, lower).unwrap();
        assert_eq!(names(&p2), ["f"]);
        assert!(p2.next.is_none(), "nothing kept after f");
        let exact = l.page_where(None, 3, lower).unwrap();
        assert_eq!(names(&exact), ["a", "d", "f"]);
        assert!(exact.next.is_none(), "skipped items are no next page");
        assert!(l.page_where(None, 2, |_| false).unwrap().items.is_empty());
    }

    #[test]
    fn foreign_cursors_are_invalid_params() {
        let l = listing(&["a"]);
        for bad in ["", "nope", "YWJj", &URL_SAFE_NO_PAD.encode("c1:x")] {
            assert_eq!(l.page(Some(bad), 10).unwrap_err().code, -32602, "{bad:?}");
        }
    }
}
