//! Tools: registration, and the result a handler returns.
//!
//! A tool's handler takes its arguments as a JSON object here; see
//! [`Tool::typed`] (in `typed.rs`) for handlers that take the user's own
//! `serde` type, with the schemas derived from the types.

use std::fmt;
use std::future::Future;

use serde_json::{Map, Value, json};

use crate::protocol::header_params::{HeaderParam, header_params};
use crate::protocol::jsonrpc::ErrorObject;
use crate::protocol::result::{ResultMembers, put};
use crate::server::RequestContext;
use crate::server::api::content::Content;
use crate::server::api::handler::BoxFuture;
use crate::server::api::icon::{Icon, icons_json};
use crate::sync::Arc;

type Handler = dyn Fn(Value, RequestContext) -> BoxFuture<Result<ToolOutput, ToolError>> + Send + Sync;

/// A tool the server offers through `tools/list` and `tools/call`. Cheap to
/// clone (one `Arc`): each call takes a clone.
#[derive(Clone)]
pub struct Tool {
    inner: Arc<ToolInner>,
}

struct ToolInner {
    /// Shared with the label of each call (no copy per call).
    name: Arc<str>,
    title: Option<String>,
    icons: Vec<Icon>,
    description: String,
    input_schema: Value,
    output_schema: Option<Value>,
    annotations: Option<Value>,
    /// The parameters a 2026-07-28 HTTP client mirrors into headers.
    header_params: Vec<HeaderParam>,
    /// Client capabilities a call needs (`sampling`, `elicitation`, ...).
    requires: Vec<String>,
    /// OAuth scopes a caller needs (checked by the HTTP service's auth).
    scopes: Vec<String>,
    /// Whether it runs as a task (tasks extension).
    task_support: TaskSupport,
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
        let params = header_params(&input_schema);
        Self {
            inner: Arc::new(ToolInner {
                name: Arc::from(name.into()),
                title: None,
                icons: Vec::new(),
                description: description.into(),
                input_schema,
                output_schema: None,
                annotations: None,
                header_params: params,
                requires: Vec::new(),
                scopes: Vec::new(),
                task_support: TaskSupport::Forbidden,
                handler: Box::new(move |args, ctx| Box::pin(handler(args, ctx))),
            }),
        }
    }

    /// Sets the human-readable title.
    ///
    /// # Panics
    ///
    /// If called on a clone that is shared (configure a tool before
    /// registering it); so do the other setters.
    pub fn title(self, title: impl Into<String>) -> Self {
        self.edit(|t| t.title = Some(title.into()))
    }

    /// Adds an icon a client may show beside the tool.
    pub fn icon(self, icon: Icon) -> Self {
        self.edit(|t| t.icons.push(icon))
    }

    /// Sets the JSON Schema of the tool's `structuredContent`.
    pub fn output_schema(self, schema: Value) -> Self {
        self.edit(|t| t.output_schema = Some(schema))
    }

    /// Sets the tool's annotations (`readOnlyHint`, `destructiveHint`, ...).
    pub fn annotations(self, annotations: Value) -> Self {
        self.edit(|t| t.annotations = Some(annotations))
    }

    /// Says that a call needs the client capability `capability`
    /// (`"sampling"`, `"elicitation"`, `"roots"`): a 2026-07-28 request
    /// whose `clientCapabilities` lack it is refused with
    /// `MissingRequiredClientCapability` (-32021) before the handler runs.
    pub fn requires_client_capability(self, capability: impl Into<String>) -> Self {
        self.edit(|t| t.requires.push(capability.into()))
    }

    /// Says that a caller needs these OAuth scopes to call the tool: with
    /// authorization on (`auth::AuthConfig`), a `tools/call` whose token
    /// lacks one is answered 403 with every scope it needs, before the
    /// handler runs. Over stdio and TCP, which carry no tokens, it has no
    /// effect.
    pub fn requires_scopes<S: Into<String>>(self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.edit(|t| t.scopes.extend(scopes.into_iter().map(Into::into)))
    }

    /// Lets the tool run as a task (the tasks extension, 2026-07-28): with
    /// [`TaskSupport::Optional`], a call whose client declares the extension
    /// is answered at once with a task to poll; with
    /// [`TaskSupport::Required`], a client that does not declare it is
    /// refused (-32021).
    pub fn task_support(self, support: TaskSupport) -> Self {
        self.edit(|t| t.task_support = support)
    }

    fn edit(mut self, f: impl FnOnce(&mut ToolInner)) -> Self {
        let inner = Arc::get_mut(&mut self.inner)
            .unwrap_or_else(|| panic!("a tool is configured before it is registered"));
        f(inner);
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The name, shared.
    pub(crate) fn shared_name(&self) -> Arc<str> {
        Arc::clone(&self.inner.name)
    }

    /// The JSON Schema of the tool's arguments.
    pub fn input_schema(&self) -> &Value {
        &self.inner.input_schema
    }

    pub(crate) fn header_params(&self) -> &[HeaderParam] {
        &self.inner.header_params
    }

    pub(crate) fn required_capabilities(&self) -> &[String] {
        &self.inner.requires
    }

    /// Read by the HTTP service's authorization only.
    #[cfg(all(feature = "auth", not(shuttle)))]
    pub(crate) fn required_scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    pub(crate) fn runs_as_task(&self) -> TaskSupport {
        self.inner.task_support
    }

    pub(crate) fn call(&self, args: Value, ctx: RequestContext) -> BoxFuture<Result<ToolOutput, ToolError>> {
        (self.inner.handler)(args, ctx)
    }

    pub(crate) fn describe(&self) -> Value {
        let t = &self.inner;
        let mut out = json!({
            "name": &*t.name,
            "description": t.description,
            "inputSchema": t.input_schema,
        });
        for (key, value) in [
            ("title", t.title.clone().map(Value::from)),
            ("icons", icons_json(&t.icons)),
            ("outputSchema", t.output_schema.clone()),
            ("annotations", t.annotations.clone()),
            (
                "execution",
                (t.task_support != TaskSupport::Forbidden)
                    .then(|| json!({"taskSupport": t.task_support.name()})),
            ),
        ] {
            if let Some(value) = value {
                out[key] = value;
            }
        }
        out
    }
}

/// What a tool call returns when it ran: content for the model, possibly
/// structured content, possibly flagged as an error (a tool failure the
/// model should see, as opposed to a protocol failure, which is a
/// [`ToolError`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    content: Vec<Content>,
    structured: Option<Value>,
    is_error: bool,
}

impl ToolOutput {
    /// These content blocks.
    pub fn new(content: impl IntoIterator<Item = Content>) -> Self {
        Self {
            content: content.into_iter().collect(),
            structured: None,
            is_error: false,
        }
    }

    /// One text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new([Content::text(text)])
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
            structured: Some(value.clone()),
            ..Self::text(value.to_string())
        }
    }

    /// True for a tool failure.
    pub fn is_error(&self) -> bool {
        self.is_error
    }

    /// The `CallToolResult` as JSON (for a task's stored result).
    pub(crate) fn into_result(self) -> Value {
        // Moved in, not serialized again: `json!` would copy the content.
        let mut result = Map::new();
        let content = self.content.into_iter().map(Content::into_value).collect();
        result.insert("content".to_owned(), Value::Array(content));
        result.insert("isError".to_owned(), Value::Bool(self.is_error));
        if let Some(s) = self.structured {
            result.insert("structuredContent".to_owned(), s);
        }
        Value::Object(result)
    }
}

/// Whether a tool runs as a task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskSupport {
    /// Never: every call is answered directly (the default).
    #[default]
    Forbidden,
    /// When the client declares the extension.
    Optional,
    /// Always: a client that does not declare the extension is refused
    /// (-32021).
    Required,
}

impl TaskSupport {
    /// The `execution.taskSupport` value a tool lists.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::Optional => "optional",
            Self::Required => "required",
        }
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

impl From<crate::server::InputError> for ToolError {
    /// A question the client could not answer, as an internal failure (a
    /// 2026-07-28 call that still needs input ends with `input_required`
    /// whatever its handler returns).
    fn from(error: crate::server::InputError) -> Self {
        Self::Internal(error.to_string())
    }
}

/// The `CallToolResult`'s members, written straight into an answer.
impl ResultMembers for ToolOutput {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#""content":["#);
        for (i, block) in self.content.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            block.write_json(out);
        }
        out.extend_from_slice(if self.is_error {
            br#"],"isError":true"#
        } else {
            br#"],"isError":false"#
        });
        if let Some(structured) = &self.structured {
            out.extend_from_slice(br#","structuredContent":"#);
            put(out, structured);
        }
    }
}
