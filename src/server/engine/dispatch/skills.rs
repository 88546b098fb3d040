//! The skills extension's methods (SEP-2640): `skills/list` (paged, each
//! entry whole on one page), `skills/get` and `resources/directory/read`.
//! A server with no skills does not declare the extension, and the three
//! are not found.

use serde_json::{Value, json};

use crate::protocol::jsonrpc::ErrorObject;
use crate::server::api::catalog::Catalog;
use crate::server::api::catalog::skills::directory;
use crate::server::api::handler::required_str;

/// `skills/list`: the page of entries after `params.cursor`.
pub(super) fn list(
    catalog: &Catalog,
    params: Option<&Value>,
    page_size: usize,
) -> Result<Value, ErrorObject> {
    let cursor = match params.and_then(|p| p.get("cursor")) {
        None | Some(Value::Null) => None,
        Some(Value::String(cursor)) => Some(cursor.as_str()),
        Some(_) => {
            return Err(ErrorObject::invalid_params(
                "skills/list: cursor must be a string",
            ));
        }
    };
    let page = catalog.skills.page(cursor, page_size)?;
    let skills: Vec<&Value> = page.items.iter().map(|skill| skill.entry()).collect();
    let mut result = json!({"skills": skills});
    if let Some(next) = page.next {
        result["nextCursor"] = json!(next);
    }
    Ok(result)
}

/// `skills/get`: the entry of the skill whose `SKILL.md` is `params.uri`.
pub(super) fn get(catalog: &Catalog, params: Option<&Value>) -> Result<Value, ErrorObject> {
    let uri = required_str(params, "uri", "skills/get")?;
    let skill = catalog
        .skill_at(uri)
        .ok_or_else(|| ErrorObject::invalid_params(format!("no skill is served at {uri}")))?;
    Ok(json!({"skill": skill.entry()}))
}

/// `resources/directory/read`: the direct children of the directory
/// resource `params.uri`, on one page.
pub(super) fn read_directory(catalog: &Catalog, params: Option<&Value>) -> Result<Value, ErrorObject> {
    let method = "resources/directory/read";
    let uri = required_str(params, "uri", method)?;
    if params.and_then(|p| p.get("cursor")).is_some_and(|c| !c.is_null()) {
        return Err(ErrorObject::invalid_params(format!(
            "{method}: invalid cursor (this server answers in one page)"
        )));
    }
    let children = directory(catalog.skills.iter(), uri)
        .ok_or_else(|| ErrorObject::invalid_params(format!("{uri} is not a directory resource")))?;
    Ok(json!({"resources": children}))
}
