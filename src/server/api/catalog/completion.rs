//! `completion/complete`: suggestions for a prompt argument or a resource
//! template variable, from one handler the user registers.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;

use serde_json::{Value, json};

use crate::protocol::jsonrpc::ErrorObject;
use crate::server::RequestContext;
use crate::server::api::handler::{BoxFuture, HandlerError};
use crate::sync::Arc;

/// Most values one completion result carries (the specification's limit).
pub const MAX_COMPLETION_VALUES: usize = 100;

/// What is being completed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompletionRef {
    /// An argument of the prompt with this name.
    Prompt(String),
    /// A variable of the resource template with this URI template.
    Resource(String),
}

/// One `completion/complete` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionRequest {
    /// The prompt or template.
    pub reference: CompletionRef,
    /// The argument or variable being completed.
    pub argument: String,
    /// What the user has typed so far.
    pub value: String,
    /// Arguments already given (`context.arguments`).
    pub context: HashMap<String, String>,
}

impl CompletionRequest {
    /// Reads `params`.
    ///
    /// # Errors
    ///
    /// -32602 when `ref` or `argument` is missing or malformed.
    pub(crate) fn parse(params: Option<&Value>) -> Result<Self, ErrorObject> {
        let bad = |what: &str| ErrorObject::invalid_params(format!("completion/complete: {what}"));
        let params = params.ok_or_else(|| bad("params are required"))?;
        let reference = params.get("ref").ok_or_else(|| bad("ref is required"))?;
        let field = |key: &str| reference.get(key).and_then(Value::as_str).map(str::to_owned);
        let reference = match reference.get("type").and_then(Value::as_str) {
            Some("ref/prompt") => {
                CompletionRef::Prompt(field("name").ok_or_else(|| bad("ref.name is required"))?)
            }
            Some("ref/resource") => {
                CompletionRef::Resource(field("uri").ok_or_else(|| bad("ref.uri is required"))?)
            }
            _ => return Err(bad("ref.type must be ref/prompt or ref/resource")),
        };
        let argument = params
            .get("argument")
            .ok_or_else(|| bad("argument is required"))?;
        let text = |key: &str| {
            argument
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad(&format!("argument.{key} (string) is required")))
        };
        let context = params
            .get("context")
            .and_then(|c| c.get("arguments"))
            .and_then(Value::as_object)
            .map(|args| {
                args.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            reference,
            argument: text("name")?,
            value: text("value")?,
            context,
        })
    }
}

type CompleteHandler =
    dyn Fn(CompletionRequest, RequestContext) -> BoxFuture<Result<Vec<String>, HandlerError>> + Send + Sync;

/// The handler of `completion/complete`. Cheap to clone.
#[derive(Clone)]
pub struct Completer {
    handler: Arc<CompleteHandler>,
}

impl fmt::Debug for Completer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completer").finish_non_exhaustive()
    }
}

impl Completer {
    /// Completes with `handler`, which returns every matching value (the
    /// server sends the first [`MAX_COMPLETION_VALUES`] and says how many
    /// there were).
    pub fn new<F, Fut>(handler: F) -> Self
    where
        F: Fn(CompletionRequest, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<String>, HandlerError>> + Send + 'static,
    {
        Self {
            handler: Arc::new(move |request, ctx| Box::pin(handler(request, ctx))),
        }
    }

    pub(crate) fn complete(
        &self,
        request: CompletionRequest,
        ctx: RequestContext,
    ) -> BoxFuture<Result<Vec<String>, HandlerError>> {
        (self.handler)(request, ctx)
    }
}

/// The result of `completion/complete` for `values`.
pub(crate) fn completion_result(mut values: Vec<String>) -> Value {
    let total = values.len();
    values.truncate(MAX_COMPLETION_VALUES);
    json!({"completion": {"values": values, "total": total, "hasMore": total > MAX_COMPLETION_VALUES}})
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    #[test]
    fn parses_both_kinds_of_reference() {
        let r = CompletionRequest::parse(Some(&json!({
            "ref": {"type": "ref/prompt", "name": "p"},
            "argument": {"name": "a", "value": "x"},
            "context": {"arguments": {"b": "y"}},
        })))
        .unwrap();
        assert_eq!(r.reference, CompletionRef::Prompt("p".into()));
        assert_eq!((r.argument.as_str(), r.value.as_str()), ("a", "x"));
        assert_eq!(r.context["b"], "y");
        let r = CompletionRequest::parse(Some(&json!({
            "ref": {"type": "ref/resource", "uri": "a://{x}"},
            "argument": {"name": "x", "value": ""},
        })))
        .unwrap();
        assert_eq!(r.reference, CompletionRef::Resource("a://{x}".into()));
        for bad in [
            json!({}),
            json!({"ref": {"type": "ref/other"}, "argument": {"name": "a", "value": ""}}),
            json!({"ref": {"type": "ref/prompt", "name": "p"}, "argument": {"name": "a"}}),
        ] {
            assert_eq!(CompletionRequest::parse(Some(&bad)).unwrap_err().code, -32602);
        }
    }

    #[test]
    fn results_are_capped_at_one_hundred() {
        let r = completion_result((0..150).map(|i| i.to_string()).collect());
        assert_eq!(r["completion"]["values"].as_array().unwrap().len(), 100);
        assert_eq!(r["completion"]["total"], 150);
        assert_eq!(r["completion"]["hasMore"], true);
        assert_eq!(completion_result(vec![])["completion"]["hasMore"], false);
    }
}
