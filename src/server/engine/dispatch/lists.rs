//! The list methods: `tools/list`, `resources/list`,
//! `resources/templates/list` and `prompts/list`, a page at a time.

use serde_json::Value;

use crate::protocol::jsonrpc::ErrorObject;
use crate::server::api::catalog::Catalog;
use crate::server::api::catalog::pages::{self, ListKind, Page};
use crate::server::api::tools::Tool;

/// The page of `kind`'s list that `params.cursor` names; of tools, only
/// those `keep` is true for when there is a `keep`.
///
/// # Errors
///
/// -32602 for a cursor that is not a string or not one this server handed
/// out.
pub(super) fn list(
    catalog: &Catalog,
    method: &str,
    kind: ListKind,
    params: Option<&Value>,
    page_size: usize,
    keep: Option<&dyn Fn(&Tool) -> bool>,
) -> Result<Page, ErrorObject> {
    let cursor = match params.and_then(|p| p.get("cursor")) {
        None | Some(Value::Null) => None,
        Some(Value::String(cursor)) => Some(cursor.as_str()),
        Some(_) => {
            return Err(ErrorObject::invalid_params(format!(
                "{method}: cursor must be a string"
            )));
        }
    };
    match keep {
        Some(keep) if kind == ListKind::Tools => pages::tools_where(catalog, cursor, page_size, keep),
        _ => pages::page(catalog, kind, cursor, page_size),
    }
}
