//! One message from a client, as the readers (`jsonrpc`, `fast_path`) make
//! it.

use std::borrow::Cow;

use serde_json::Value;

use super::error_object::ErrorObject;
use super::params::Params;
use super::request_id::RequestId;

/// One message from a client, borrowing from its line where it can.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming<'a> {
    /// A request: it expects a response.
    Request {
        /// Its id.
        id: RequestId,
        /// The method.
        method: Cow<'a, str>,
        /// The params object or array, read as the method needs.
        params: Params<'a>,
    },
    /// A notification: no response.
    Notification {
        /// The method.
        method: Cow<'a, str>,
        /// The params, read as JSON.
        params: Params<'a>,
    },
    /// A response to a request the server sent.
    Response {
        /// The id of the server's request.
        id: RequestId,
        /// Its `result`, or its `error` (a malformed error object becomes
        /// -32603 saying so).
        outcome: Result<Value, ErrorObject>,
    },
}

impl Incoming<'_> {
    /// The same message, owning what it borrowed from its line (to be
    /// handed on without reading the line again).
    pub fn into_owned(self) -> Incoming<'static> {
        match self {
            Self::Request { id, method, params } => Incoming::Request {
                id,
                method: Cow::Owned(method.into_owned()),
                params: params.into_owned(),
            },
            Self::Notification { method, params } => Incoming::Notification {
                method: Cow::Owned(method.into_owned()),
                params: params.into_owned(),
            },
            Self::Response { id, outcome } => Incoming::Response { id, outcome },
        }
    }
}
