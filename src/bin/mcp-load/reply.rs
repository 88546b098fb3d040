//! What the generator reads of the server's messages, whatever carried
//! them: a leaf that the line and HTTP connections share.

use serde_json::Value;

/// What the generator reads of a message from the server.
#[derive(serde::Deserialize)]
pub(crate) struct Reply {
    #[serde(default)]
    pub(crate) id: Value,
    pub(crate) method: Option<serde::de::IgnoredAny>,
    pub(crate) error: Option<Value>,
    pub(crate) result: Option<ResultHead>,
}

/// Of a result, only whether the tool reported an error.
#[derive(serde::Deserialize)]
pub(crate) struct ResultHead {
    #[serde(rename = "isError", default)]
    pub(crate) is_error: bool,
}
