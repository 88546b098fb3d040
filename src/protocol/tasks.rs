//! The tasks extension's wire facts: its identifier, how a client declares
//! it, and the error that names it.

use serde_json::{Value, json};

use super::error_object::ErrorObject;
use super::mcp::MISSING_CLIENT_CAPABILITY;

/// The extension's identifier.
pub const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// True if `capabilities` (a request's `clientCapabilities`) declare the
/// tasks extension.
pub(crate) fn declares_tasks(capabilities: Option<&Value>) -> bool {
    capabilities
        .and_then(|c| c.get("extensions"))
        .and_then(|e| e.get(TASKS_EXTENSION))
        .is_some_and(|v| !v.is_null())
}

/// -32021 naming the tasks extension.
pub(crate) fn tasks_required() -> ErrorObject {
    ErrorObject::new(
        MISSING_CLIENT_CAPABILITY,
        format!("this request needs the client capability extensions.{TASKS_EXTENSION}"),
    )
    .with_data(json!({"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}}))
}
