//! Prompts: templates of messages a client offers its user, with named
//! string arguments, served by `prompts/list` and `prompts/get`.
//!
//! Required arguments are checked before the handler runs: a `prompts/get`
//! that lacks one is answered -32602 naming it.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};

use crate::protocol::result::{ResultMembers, put};
use crate::server::RequestContext;
use crate::server::api::content::Content;
use crate::server::api::handler::{BoxFuture, HandlerError};
use crate::server::api::icon::{Icon, icons_json};
use crate::sync::Arc;

/// The arguments of one `prompts/get`, by name.
pub type PromptArgs = HashMap<String, String>;

type PromptHandler =
    dyn Fn(PromptArgs, RequestContext) -> BoxFuture<Result<PromptOutput, HandlerError>> + Send + Sync;

/// One argument a prompt takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptArgument {
    name: String,
    description: Option<String>,
    required: bool,
}

impl PromptArgument {
    /// A required argument.
    pub fn required(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: Some(description.into()),
            required: true,
        }
    }

    /// An optional argument.
    pub fn optional(name: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            required: false,
            ..Self::required(name, description)
        }
    }

    /// The argument's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn describe(&self) -> Value {
        let mut out = json!({"name": self.name, "required": self.required});
        if let Some(d) = &self.description {
            out["description"] = json!(d);
        }
        out
    }
}

/// What `prompts/get` returns: messages, and optionally a description.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromptOutput {
    description: Option<String>,
    messages: Vec<Message>,
}

/// One message of a prompt.
#[derive(Debug, Clone, PartialEq)]
struct Message {
    role: &'static str,
    content: Content,
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut message = serializer.serialize_map(Some(2))?;
        message.serialize_entry("role", self.role)?;
        message.serialize_entry("content", &self.content)?;
        message.end()
    }
}

impl PromptOutput {
    /// No messages yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a message from the user.
    pub fn user(self, content: Content) -> Self {
        self.message("user", content)
    }

    /// Adds a message from the assistant.
    pub fn assistant(self, content: Content) -> Self {
        self.message("assistant", content)
    }

    /// Sets the description of this result.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    fn message(mut self, role: &'static str, content: Content) -> Self {
        self.messages.push(Message { role, content });
        self
    }
}

/// The `GetPromptResult`'s members, written straight into an answer.
impl ResultMembers for PromptOutput {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#""messages":"#);
        put(out, &self.messages);
        if let Some(description) = &self.description {
            out.extend_from_slice(br#","description":"#);
            put(out, description);
        }
    }
}

struct Inner {
    name: String,
    title: Option<String>,
    description: Option<String>,
    icons: Vec<Icon>,
    arguments: Vec<PromptArgument>,
    handler: Box<PromptHandler>,
}

/// A prompt. Cheap to clone.
#[derive(Clone)]
pub struct Prompt {
    inner: Arc<Inner>,
}

impl fmt::Debug for Prompt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prompt")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl Prompt {
    /// A prompt called `name` taking `arguments`, rendered by `handler`.
    pub fn new<F, Fut>(name: impl Into<String>, arguments: Vec<PromptArgument>, handler: F) -> Self
    where
        F: Fn(PromptArgs, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<PromptOutput, HandlerError>> + Send + 'static,
    {
        Self {
            inner: Arc::new(Inner {
                name: name.into(),
                title: None,
                icons: Vec::new(),
                description: None,
                arguments,
                handler: Box::new(move |args, ctx| Box::pin(handler(args, ctx))),
            }),
        }
    }

    /// Sets the human-readable title.
    ///
    /// # Panics
    ///
    /// If called on a clone that is shared (configure a prompt before
    /// registering it).
    pub fn title(self, title: impl Into<String>) -> Self {
        self.edit(|i| i.title = Some(title.into()))
    }

    /// Sets the description.
    ///
    /// # Panics
    ///
    /// As [`Prompt::title`].
    pub fn description(self, description: impl Into<String>) -> Self {
        self.edit(|i| i.description = Some(description.into()))
    }

    /// Adds an icon a client may show beside the prompt.
    ///
    /// # Panics
    ///
    /// As [`Prompt::title`].
    pub fn icon(self, icon: Icon) -> Self {
        self.edit(|i| i.icons.push(icon))
    }

    fn edit(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        let inner = Arc::get_mut(&mut self.inner)
            .unwrap_or_else(|| panic!("a prompt is configured before it is registered"));
        f(inner);
        self
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The arguments it takes.
    pub fn arguments(&self) -> &[PromptArgument] {
        &self.inner.arguments
    }

    pub(crate) fn describe(&self) -> Value {
        let i = &self.inner;
        let mut out = json!({"name": i.name});
        if let Some(t) = &i.title {
            out["title"] = json!(t);
        }
        if let Some(d) = &i.description {
            out["description"] = json!(d);
        }
        if let Some(icons) = icons_json(&i.icons) {
            out["icons"] = icons;
        }
        if !i.arguments.is_empty() {
            out["arguments"] = Value::Array(i.arguments.iter().map(PromptArgument::describe).collect());
        }
        out
    }

    /// Checks `arguments` (a JSON object of strings, or absent) against the
    /// declared ones.
    ///
    /// # Errors
    ///
    /// [`HandlerError::InvalidParams`] naming what is wrong.
    pub(crate) fn check_args(&self, arguments: Option<&Value>) -> Result<PromptArgs, HandlerError> {
        let mut args = PromptArgs::new();
        match arguments {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    let Some(v) = v.as_str() else {
                        return Err(HandlerError::InvalidParams(format!(
                            "prompts/get: argument {k} must be a string"
                        )));
                    };
                    args.insert(k.clone(), v.to_owned());
                }
            }
            Some(_) => {
                return Err(HandlerError::InvalidParams(
                    "prompts/get: arguments must be an object".into(),
                ));
            }
        }
        let missing: Vec<&str> = self
            .inner
            .arguments
            .iter()
            .filter(|a| a.required && !args.contains_key(&a.name))
            .map(|a| a.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(HandlerError::InvalidParams(format!(
                "prompts/get {}: missing required argument(s): {}",
                self.inner.name,
                missing.join(", ")
            )));
        }
        Ok(args)
    }

    pub(crate) fn get(
        &self,
        args: PromptArgs,
        ctx: RequestContext,
    ) -> BoxFuture<Result<PromptOutput, HandlerError>> {
        (self.inner.handler)(args, ctx)
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    fn prompt() -> Prompt {
        Prompt::new(
            "p",
            vec![
                PromptArgument::required("a", "first"),
                PromptArgument::optional("b", "second"),
            ],
            |_args, _ctx| async { Ok(PromptOutput::new()) },
        )
        .description("d")
    }

    #[test]
    fn required_arguments_are_checked() {
        let p = prompt();
        assert!(p.check_args(Some(&json!({"a": "x"}))).is_ok());
        let err = p.check_args(Some(&json!({"b": "x"}))).unwrap_err();
        assert!(
            matches!(&err, HandlerError::InvalidParams(m) if m.contains("a")),
            "{err:?}"
        );
        assert!(p.check_args(None).is_err());
        assert!(p.check_args(Some(&json!({"a": 1}))).is_err());
        assert!(p.check_args(Some(&json!(["a"]))).is_err());
    }

    #[test]
    fn describes_itself_as_the_schema_says() {
        assert_eq!(
            prompt().describe(),
            json!({"name": "p", "description": "d", "arguments": [
                {"name": "a", "description": "first", "required": true},
                {"name": "b", "description": "second", "required": false},
            ]})
        );
    }
}
