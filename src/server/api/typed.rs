//! Typed handlers: a tool or a prompt that takes its arguments as the
//! user's own `serde` type, with the JSON Schema derived from that type by
//! `schemars`, and a tool that returns a typed structured result.
//!
//! Arguments that do not deserialize into the type are a tool result with
//! `isError: true` carrying serde's message (the model can correct itself),
//! or, for a prompt, -32602.

use std::future::Future;

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::server::RequestContext;
use crate::server::api::catalog::prompts::{Prompt, PromptArgument, PromptOutput};
use crate::server::api::handler::HandlerError;
use crate::server::api::tools::{Tool, ToolError, ToolOutput};

/// The JSON Schema of `T`, as an object schema for `inputSchema` or
/// `outputSchema`.
pub fn schema_of<T: JsonSchema>() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(T)).expect("a schema is JSON");
    if let Value::Object(map) = &mut schema {
        // A unit or empty struct derives `{"type": "null"}` or no type; MCP
        // wants an object schema at the root.
        if map.get("type").is_none_or(|t| t != "object") {
            map.insert("type".into(), Value::from("object"));
        }
        map.entry("properties")
            .or_insert_with(|| Value::Object(Default::default()));
    }
    schema
}

impl Tool {
    /// A tool whose arguments are an `A` and whose result is an `O`: the
    /// input schema is derived from `A`, the output schema from `O`, and the
    /// result carries `O` as `structuredContent` (and as JSON text, for
    /// clients that read only `content`).
    ///
    /// `O` must serialize to a JSON object (a struct or a map), as MCP
    /// requires of structured content.
    pub fn typed<A, O, F, Fut>(name: impl Into<String>, description: impl Into<String>, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        O: Serialize + JsonSchema + 'static,
        F: Fn(A, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, ToolError>> + Send + 'static,
    {
        let handler = std::sync::Arc::new(handler);
        Tool::with_args(name, description, move |args: A, ctx| {
            let handler = std::sync::Arc::clone(&handler);
            async move {
                let output = handler(args, ctx).await?;
                let value = serde_json::to_value(&output)
                    .map_err(|e| ToolError::Internal(format!("result does not serialize: {e}")))?;
                Ok(ToolOutput::structured(value))
            }
        })
        .output_schema(schema_of::<O>())
    }

    /// A tool whose arguments are an `A` (schema derived from `A`) and that
    /// returns any [`ToolOutput`].
    pub fn with_args<A, F, Fut>(name: impl Into<String>, description: impl Into<String>, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(A, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ToolOutput, ToolError>> + Send + 'static,
    {
        let handler = std::sync::Arc::new(handler);
        Tool::new(name, description, schema_of::<A>(), move |args: Value, ctx| {
            let handler = std::sync::Arc::clone(&handler);
            async move {
                match serde_json::from_value::<A>(args) {
                    Ok(args) => handler(args, ctx).await,
                    Err(e) => Err(ToolError::InvalidArguments(e.to_string())),
                }
            }
        })
    }
}

impl Prompt {
    /// A prompt whose arguments are an `A`: a struct of string fields
    /// (`Option<String>` for optional ones). The declared arguments, their
    /// descriptions (from doc comments) and which are required come from
    /// `A`'s schema.
    pub fn typed<A, F, Fut>(name: impl Into<String>, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(A, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<PromptOutput, HandlerError>> + Send + 'static,
    {
        let handler = std::sync::Arc::new(handler);
        Prompt::new(name, arguments_of(&schema_of::<A>()), move |args, ctx| {
            let handler = std::sync::Arc::clone(&handler);
            async move {
                let value = serde_json::to_value(args).expect("strings are JSON");
                match serde_json::from_value::<A>(value) {
                    Ok(args) => handler(args, ctx).await,
                    Err(e) => Err(HandlerError::InvalidParams(e.to_string())),
                }
            }
        })
    }
}

/// The prompt arguments an object schema describes.
fn arguments_of(schema: &Value) -> Vec<PromptArgument> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| {
            let description = property
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if required.contains(&name.as_str()) {
                PromptArgument::required(name, description)
            } else {
                PromptArgument::optional(name, description)
            }
        })
        .collect()
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Args {
        /// The city.
        city: String,
        days: Option<u32>,
    }

    #[derive(Deserialize, JsonSchema)]
    struct Empty {}

    #[test]
    fn schemas_are_object_schemas() {
        let s = schema_of::<Args>();
        assert_eq!(s["type"], "object");
        assert_eq!(s["properties"]["city"]["description"], "The city.");
        assert_eq!(s["required"], serde_json::json!(["city"]));
        assert_eq!(schema_of::<Empty>()["type"], "object");
    }

    #[test]
    fn prompt_arguments_follow_the_schema() {
        let args = arguments_of(&schema_of::<Args>());
        let names: Vec<_> = args.iter().map(PromptArgument::name).collect();
        assert_eq!(names, ["city", "days"]);
        assert_eq!(args[0], PromptArgument::required("city", "The city."));
        assert_eq!(args[1], PromptArgument::optional("days", ""));
    }
}
