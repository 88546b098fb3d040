//! What the handlers of resources, prompts and completion have in common:
//! the boxed future they run as, and the error they may end with.

use std::future::Future;
use std::pin::Pin;

use serde_json::{Value, json};

use crate::protocol::jsonrpc::{ErrorObject, INVALID_PARAMS};
use crate::protocol::mcp::Generation;

/// A handler's future, boxed.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The error code of "resource not found" before 2026-07-28.
pub const RESOURCE_NOT_FOUND: i64 = -32002;

/// How a resource read, prompt or completion failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// There is no such resource (answered per generation: -32002 before
    /// 2026-07-28, -32602 since, each with `data.uri`).
    #[error("resource not found")]
    NotFound,
    /// The request's arguments are wrong (-32602).
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// The handler failed (-32603).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<crate::server::InputError> for HandlerError {
    /// As `ToolError`'s: a question the client could not answer.
    fn from(error: crate::server::InputError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl HandlerError {
    /// The JSON-RPC error for this failure of a request about `uri` (if it
    /// names one), under `generation`.
    pub(crate) fn into_error(self, generation: Generation, uri: Option<&str>) -> ErrorObject {
        match self {
            Self::NotFound => resource_not_found(generation, uri.unwrap_or_default()),
            Self::InvalidParams(m) => ErrorObject::invalid_params(m),
            Self::Internal(m) => ErrorObject::internal(m),
        }
    }
}

/// "Resource not found" as `generation` spells it.
pub(crate) fn resource_not_found(generation: Generation, uri: &str) -> ErrorObject {
    let code = if generation.is_stateless() {
        INVALID_PARAMS
    } else {
        RESOURCE_NOT_FOUND
    };
    ErrorObject::new(code, format!("resource not found: {uri}")).with_data(json!({"uri": uri}))
}

/// The string `key` of an object, or -32602 naming `what`.
pub(crate) fn required_str<'a>(
    params: Option<&'a Value>,
    key: &str,
    what: &str,
) -> Result<&'a str, ErrorObject> {
    params
        .and_then(|p| p.get(key))
        .and_then(Value::as_str)
        .ok_or_else(|| ErrorObject::invalid_params(format!("{what}: {key} (string) is required")))
}
