//! The list methods: `tools/list`, `resources/list`,
//! `resources/templates/list` and `prompts/list`, a page at a time.

use serde_json::{Value, json};

use crate::protocol::jsonrpc::ErrorObject;
use crate::server::catalog::Catalog;
use crate::server::catalog::listing::Listing;

/// The page of `method`'s list that `params.cursor` names.
///
/// # Errors
///
/// -32602 for a cursor that is not a string or not one this server handed
/// out.
pub(super) fn list(
    catalog: &Catalog,
    method: &str,
    params: Option<&Value>,
    page_size: usize,
) -> Result<Value, ErrorObject> {
    let cursor = match params.and_then(|p| p.get("cursor")) {
        None | Some(Value::Null) => None,
        Some(Value::String(cursor)) => Some(cursor.as_str()),
        Some(_) => {
            return Err(ErrorObject::invalid_params(format!(
                "{method}: cursor must be a string"
            )));
        }
    };
    match method {
        "tools/list" => page(&catalog.tools, "tools", cursor, page_size, |t| t.describe()),
        "resources/list" => page(&catalog.resources, "resources", cursor, page_size, |r| {
            r.describe()
        }),
        "resources/templates/list" => page(&catalog.templates, "resourceTemplates", cursor, page_size, |t| {
            t.describe()
        }),
        "prompts/list" => page(&catalog.prompts, "prompts", cursor, page_size, |p| p.describe()),
        _ => Err(ErrorObject::method_not_found(method)),
    }
}

fn page<T>(
    listing: &Listing<T>,
    key: &str,
    cursor: Option<&str>,
    size: usize,
    describe: impl Fn(&T) -> Value,
) -> Result<Value, ErrorObject> {
    let page = listing.page(cursor, size)?;
    let mut result = json!({key: page.items.into_iter().map(describe).collect::<Vec<_>>()});
    if let Some(next) = page.next {
        result["nextCursor"] = json!(next);
    }
    Ok(result)
}
