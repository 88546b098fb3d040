//! The list methods' pages, encoded: `tools/list`, `resources/list`,
//! `resources/templates/list` and `prompts/list`.
//!
//! A page's items are encoded to JSON text once. The first page of each
//! list (what a client asks for without a cursor, nearly every time) is
//! encoded when a catalog snapshot is installed ([`FirstPages`]) and shared
//! by every request that reads that snapshot; a later page is encoded when
//! asked for.

use serde_json::Value;
use serde_json::value::RawValue;

use super::Catalog;
use super::listing::{self, Listing};
use crate::protocol::jsonrpc::ErrorObject;
use crate::protocol::result::{ResultMembers, put};
use crate::server::api::tools::Tool;
use crate::sync::Arc;

/// One of the four lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKind {
    Tools,
    Resources,
    Templates,
    Prompts,
}

impl ListKind {
    const ALL: [Self; 4] = [Self::Tools, Self::Resources, Self::Templates, Self::Prompts];

    /// The result member that holds the items.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Tools => "tools",
            Self::Resources => "resources",
            Self::Templates => "resourceTemplates",
            Self::Prompts => "prompts",
        }
    }
}

/// One page of a list, its items encoded.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub(crate) kind: ListKind,
    /// The items, as a JSON array.
    pub(crate) items: Arc<RawValue>,
    /// The cursor of the next page, if there are more items.
    pub(crate) next: Option<String>,
    /// False for a list filtered for one caller ([`tools_where`]).
    pub(crate) for_anyone: bool,
}

/// `{"tools": [...], "nextCursor": ...}`; a list is the same for anyone
/// who asks, unless it was filtered for the caller.
impl ResultMembers for Page {
    fn write(&self, out: &mut Vec<u8>) {
        put(out, self.kind.key());
        out.push(b':');
        out.extend_from_slice(self.items.get().as_bytes());
        if let Some(next) = &self.next {
            out.extend_from_slice(br#","nextCursor":"#);
            put(out, next);
        }
    }

    fn cache_scope(&self) -> Option<bool> {
        Some(self.for_anyone)
    }
}

/// The first page of each list of one snapshot, for one page size.
#[derive(Debug)]
pub(crate) struct FirstPages {
    size: usize,
    pages: [Page; 4],
}

impl FirstPages {
    /// Encodes the first page of each of `catalog`'s lists.
    pub(crate) fn of(catalog: &Catalog, size: usize) -> Self {
        Self {
            size,
            pages: ListKind::ALL.map(|kind| encode(catalog, kind, None, size).expect("no cursor, no error")),
        }
    }
}

/// The page of `kind` after `cursor` (the first page without one), of at
/// most `size` items: the one encoded with the snapshot when it is the
/// first, else encoded now.
///
/// # Errors
///
/// -32602 for a cursor this server did not hand out.
pub(crate) fn page(
    catalog: &Catalog,
    kind: ListKind,
    cursor: Option<&str>,
    size: usize,
) -> Result<Page, ErrorObject> {
    match (&catalog.first_pages, cursor) {
        (Some(first), None) if first.size == size => {
            let index = ListKind::ALL
                .iter()
                .position(|k| *k == kind)
                .expect("one of the four");
            Ok(first.pages[index].clone())
        }
        _ => encode(catalog, kind, cursor, size),
    }
}

/// The page of the tools `keep` is true for after `cursor`, of at most
/// `size` of them, encoded now: a list for one caller.
///
/// # Errors
///
/// -32602 for a cursor this server did not hand out.
pub(crate) fn tools_where(
    catalog: &Catalog,
    cursor: Option<&str>,
    size: usize,
    keep: impl Fn(&Tool) -> bool,
) -> Result<Page, ErrorObject> {
    let page = catalog.tools.page_where(cursor, size, keep)?;
    let mut page = encode_page(ListKind::Tools, page, Tool::describe);
    page.for_anyone = false;
    Ok(page)
}

fn encode(catalog: &Catalog, kind: ListKind, cursor: Option<&str>, size: usize) -> Result<Page, ErrorObject> {
    match kind {
        ListKind::Tools => encode_items(&catalog.tools, kind, cursor, size, |t| t.describe()),
        ListKind::Resources => encode_items(&catalog.resources, kind, cursor, size, |r| r.describe()),
        ListKind::Templates => encode_items(&catalog.templates, kind, cursor, size, |t| t.describe()),
        ListKind::Prompts => encode_items(&catalog.prompts, kind, cursor, size, |p| p.describe()),
    }
}

fn encode_items<T>(
    listing: &Listing<T>,
    kind: ListKind,
    cursor: Option<&str>,
    size: usize,
    describe: impl Fn(&T) -> Value,
) -> Result<Page, ErrorObject> {
    Ok(encode_page(kind, listing.page(cursor, size)?, describe))
}

fn encode_page<T>(kind: ListKind, page: listing::Page<'_, T>, describe: impl Fn(&T) -> Value) -> Page {
    let items: Vec<Value> = page.items.into_iter().map(describe).collect();
    let text = serde_json::to_string(&items).expect("a JSON value encodes");
    Page {
        kind,
        items: Arc::from(RawValue::from_string(text).expect("encoded as JSON")),
        next: page.next,
        for_anyone: true,
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;
    use crate::server::ToolOutput;
    use crate::server::api::catalog::LiveCatalog;
    use crate::server::api::tools::Tool;

    fn tool(name: &str) -> Tool {
        Tool::new(name, "", serde_json::json!({"type": "object"}), |_, _| async {
            Ok(ToolOutput::text(""))
        })
    }

    fn names(page: &Page) -> Vec<String> {
        let items: Vec<Value> = serde_json::from_str(page.items.get()).unwrap();
        items
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The first page is encoded with each snapshot: a change shows in the
    /// next snapshot's page, and a snapshot already taken keeps its own.
    #[test]
    fn a_change_encodes_the_first_pages_again() {
        let mut catalog = Catalog::default();
        catalog.add_tool(tool("a"));
        let live = LiveCatalog::new(catalog, 2);
        let before = live.snapshot();
        assert!(live.change(|c| c.add_tool(tool("b"))));
        assert!(live.change(|c| c.add_tool(tool("c"))));
        let after = live.snapshot();
        let first = page(&after, ListKind::Tools, None, 2).unwrap();
        assert_eq!(names(&first), ["a", "b"]);
        let second = page(&after, ListKind::Tools, first.next.as_deref(), 2).unwrap();
        assert_eq!(names(&second), ["c"]);
        assert_eq!(second.next, None);
        assert_eq!(names(&page(&before, ListKind::Tools, None, 2).unwrap()), ["a"]);
        // A page size other than the one encoded for is encoded on demand.
        assert_eq!(
            names(&page(&after, ListKind::Tools, None, 5).unwrap()),
            ["a", "b", "c"]
        );
        let empty = page(&after, ListKind::Prompts, None, 2).unwrap();
        assert_eq!(empty.to_value(), serde_json::json!({"prompts": []}));
    }
}
