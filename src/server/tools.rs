//! Tools: registration, the result a handler returns, and the per-request
//! context a handler receives.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde_json::{Value, json};

use crate::core::OutboxSender;
use crate::error::NotifyError;
use crate::protocol::jsonrpc::{ErrorObject, RequestId, encode_notification};
use crate::server::ServerHandle;
use crate::sync::{Arc, CancellationToken};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
type Handler = dyn Fn(Value, RequestContext) -> BoxFuture<Result<ToolOutput, ToolError>> + Send + Sync;

/// A tool the server offers through `tools/list` and `tools/call`. Cheap to
/// clone (one `Arc`): each call takes a clone.
#[derive(Clone)]
pub struct Tool {
    inner: Arc<ToolInner>,
}

struct ToolInner {
    name: String,
    description: String,
    input_schema: Value,
    handler: Box<Handler>,
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl Tool {
    /// A tool named `name` whose arguments follow the JSON Schema
    /// `input_schema` and whose calls run `handler`.
    ///
    /// The handler gets the call's `arguments` (an object, `{}` if absent)
    /// and a [`RequestContext`]. Its future is first polled on the
    /// session's own task: a handler that finishes without waiting is
    /// answered right there, with no task spawned; one that waits continues
    /// in a task of its own, under the request timeout. So a handler should
    /// not do long blocking work before its first `.await` (use
    /// `tokio::task::spawn_blocking` for that).
    pub fn new<F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: Value,
        handler: F,
    ) -> Self
    where
        F: Fn(Value, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ToolOutput, ToolError>> + Send + 'static,
    {
        Self {
            inner: Arc::new(ToolInner {
                name: name.into(),
                description: description.into(),
                input_schema,
                handler: Box::new(move |args, ctx| Box::pin(handler(args, ctx))),
            }),
        }
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    pub(crate) fn call(&self, args: Value, ctx: RequestContext) -> BoxFuture<Result<ToolOutput, ToolError>> {
        (self.inner.handler)(args, ctx)
    }

    fn describe(&self) -> Value {
        json!({
            "name": self.inner.name,
            "description": self.inner.description,
            "inputSchema": self.inner.input_schema,
        })
    }
}

/// The tools of a server, by name, in registration order for listing.
#[derive(Debug, Default, Clone)]
pub(crate) struct ToolSet {
    by_name: HashMap<String, Tool>,
    order: Vec<String>,
}

impl ToolSet {
    /// Adds or replaces a tool.
    pub(crate) fn insert(&mut self, tool: Tool) {
        if !self.by_name.contains_key(tool.name()) {
            self.order.push(tool.name().to_owned());
        }
        self.by_name.insert(tool.name().to_owned(), tool);
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Tool> {
        self.by_name.get(name)
    }

    /// The `tools` array of `tools/list`.
    pub(crate) fn list(&self) -> Value {
        Value::Array(self.order.iter().map(|n| self.by_name[n].describe()).collect())
    }
}

/// What a tool call returns when it ran: content for the model, possibly
/// flagged as an error (a tool failure the model should see, as opposed to
/// a protocol failure, which is a [`ToolError`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    content: Vec<Value>,
    structured: Option<Value>,
    is_error: bool,
}

impl ToolOutput {
    /// One text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            content: vec![json!({"type": "text", "text": text.into()})],
            structured: None,
            is_error: false,
        }
    }

    /// A tool failure reported to the model as a result with `isError: true`.
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            is_error: true,
            ..Self::text(text)
        }
    }

    /// Structured content, with its JSON text as the text block.
    pub fn structured(value: Value) -> Self {
        Self {
            content: vec![json!({"type": "text", "text": value.to_string()})],
            structured: Some(value),
            is_error: false,
        }
    }

    /// True for a tool failure.
    pub fn is_error(&self) -> bool {
        self.is_error
    }

    pub(crate) fn into_result(self) -> Value {
        let mut result = json!({"content": self.content, "isError": self.is_error});
        if let Some(s) = self.structured {
            result["structuredContent"] = s;
        }
        result
    }
}

/// A failure of a tool call.
///
/// Invalid arguments are answered as a tool result with `isError: true`
/// (since MCP 2025-11-25, so that the model can correct itself); an internal
/// failure as a JSON-RPC error (-32603).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// The arguments are not what the tool's schema asks for (a result with `isError: true`).
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The tool failed in a way the model cannot act on (-32603).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ToolError {
    /// The answer to the call: a tool result for invalid arguments, a
    /// JSON-RPC error otherwise.
    pub(crate) fn into_answer(self) -> Result<ToolOutput, ErrorObject> {
        match self {
            Self::InvalidArguments(m) => Ok(ToolOutput::error(format!("invalid arguments: {m}"))),
            Self::Internal(m) => Err(ErrorObject::internal(m)),
        }
    }
}

/// What a handler knows about the request it serves.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub(crate) request_id: RequestId,
    pub(crate) token: CancellationToken,
    pub(crate) progress_token: Option<Value>,
    pub(crate) outbox: OutboxSender,
    pub(crate) server: ServerHandle,
}

impl RequestContext {
    /// The id of the request.
    pub fn request_id(&self) -> &RequestId {
        &self.request_id
    }

    /// The session the request came from.
    pub fn session(&self) -> crate::core::SessionId {
        self.outbox.session()
    }

    /// The request's token: cancelled by `notifications/cancelled`, the
    /// client disconnecting, the request timing out, or shutdown.
    pub fn cancellation_token(&self) -> &CancellationToken {
        &self.token
    }

    /// True once the request has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes when the request is cancelled.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe.
    pub async fn cancelled(&self) {
        self.token.cancelled().await;
    }

    /// True if the client asked for progress (sent a `progressToken`).
    pub fn wants_progress(&self) -> bool {
        self.progress_token.is_some()
    }

    /// Sends `notifications/progress` if the client asked for it; does
    /// nothing otherwise.
    ///
    /// # Errors
    ///
    /// As [`RequestContext::notify`].
    pub fn progress(
        &self,
        progress: f64,
        total: Option<f64>,
        message: Option<&str>,
    ) -> Result<(), NotifyError> {
        let Some(token) = &self.progress_token else {
            return Ok(());
        };
        let mut params = json!({"progressToken": token, "progress": progress});
        if let Some(total) = total {
            params["total"] = json!(total);
        }
        if let Some(message) = message {
            params["message"] = json!(message);
        }
        self.notify("notifications/progress", Some(params))
    }

    /// Sends a notification to the client of this request, without waiting.
    ///
    /// # Errors
    ///
    /// [`NotifyError`] if the outbox is full (the message is counted as
    /// dropped) or the session is gone.
    pub fn notify(&self, method: &str, params: Option<Value>) -> Result<(), NotifyError> {
        self.outbox.try_notify(encode_notification(method, params))
    }

    /// The server, for notifying other sessions or broadcasting.
    pub fn server(&self) -> &ServerHandle {
        &self.server
    }
}
