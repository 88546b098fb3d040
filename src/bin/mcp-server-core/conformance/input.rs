//! The fixtures of the multi-round-trip scenarios
//! (`input-required-result-*`): handlers that ask through their context.

use mcp_server_core::{InputError, RequestContext, Tool, ToolOutput};
use serde_json::{Value, json};

use super::no_args;

/// An object schema with one required string property `field`.
pub(super) fn one_string(field: &str) -> Value {
    json!({"type": "object", "properties": {field: {"type": "string"}}, "required": [field]})
}

/// The string `field` of an elicitation's accepted content.
pub(super) fn content_text(answer: &Value, field: &str) -> String {
    answer["content"][field].as_str().unwrap_or("unknown").to_owned()
}

/// A confirmation question (`{ok: boolean}`) under `key`; true if accepted
/// with `ok`.
async fn confirmed(ctx: &RequestContext, key: &str) -> Result<bool, InputError> {
    let schema = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]});
    let answer = ctx.elicit_as(key, "Please confirm", schema).await?;
    Ok(answer["content"]["ok"] == true)
}

/// A tool with no arguments whose handler is `handler`.
fn asking<F, Fut>(name: &str, description: &str, handler: F) -> Tool
where
    F: Fn(RequestContext) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<String, InputError>> + Send + 'static,
{
    Tool::new(name, description, no_args(), move |_, ctx| {
        let run = handler(ctx);
        async move { Ok(ToolOutput::text(run.await?)) }
    })
}

/// The multi-round-trip fixtures (SEP-2322).
pub(super) fn input_required_tools() -> Vec<Tool> {
    vec![
        asking(
            "test_input_required_result_elicitation",
            "MRTR: returns InputRequiredResult with elicitation request",
            |ctx| async move {
                let answer = ctx
                    .elicit_as("user_name", "What is your name?", one_string("name"))
                    .await?;
                Ok(format!("Hello, {}!", content_text(&answer, "name")))
            },
        ),
        asking(
            "test_input_required_result_sampling",
            "MRTR: returns InputRequiredResult with sampling request",
            |ctx| async move {
                let answer = ctx
                    .sample_as("sample_request", question("What is the capital of France?", 100))
                    .await?;
                Ok(format!(
                    "Sampling result: {}",
                    answer["content"]["text"].as_str().unwrap_or("no response")
                ))
            },
        ),
        asking(
            "test_input_required_result_list_roots",
            "MRTR: returns InputRequiredResult with roots/list request",
            |ctx| async move {
                let answer = ctx.list_roots_as("roots_request").await?;
                Ok(format!("Found {} root(s)", roots_in(&answer)))
            },
        ),
        asking(
            "test_input_required_result_request_state",
            "MRTR: returns InputRequiredResult with requestState",
            |ctx| async move {
                Ok(if confirmed(&ctx, "confirm").await? {
                    "state-ok: requestState validated".to_owned()
                } else {
                    "state-not-confirmed".to_owned()
                })
            },
        ),
        asking(
            "test_input_required_result_multiple_inputs",
            "MRTR: returns InputRequiredResult with multiple input requests",
            |ctx| async move {
                let (name, greeting, roots) = tokio::join!(
                    ctx.elicit_as("user_name", "What is your name?", one_string("name")),
                    ctx.sample_as("greeting", question("Generate a greeting", 50)),
                    ctx.list_roots_as("client_roots"),
                );
                let (name, greeting, roots) = (name?, greeting?, roots?);
                Ok(format!(
                    "Name: {}; Greeting: {}; Roots: {}",
                    content_text(&name, "name"),
                    greeting["content"]["text"].as_str().unwrap_or("Hello there!"),
                    roots_in(&roots)
                ))
            },
        ),
        asking(
            "test_input_required_result_multi_round",
            "MRTR: multi-round InputRequiredResult workflow",
            |ctx| async move {
                let name = ctx
                    .elicit_as("step1", "Step 1: What is your name?", one_string("name"))
                    .await?;
                let color = ctx
                    .elicit_as(
                        "step2",
                        "Step 2: What is your favorite color?",
                        one_string("color"),
                    )
                    .await?;
                Ok(format!(
                    "Multi-round complete for {} who likes {}",
                    content_text(&name, "name"),
                    content_text(&color, "color")
                ))
            },
        ),
        asking(
            "test_input_required_result_tampered_state",
            "MRTR: HMAC-signed requestState integrity test",
            |ctx| async move {
                confirmed(&ctx, "confirm").await?;
                Ok("integrity-ok: state verified".to_owned())
            },
        ),
        asking(
            "test_input_required_result_capabilities",
            "MRTR: respects client capabilities in inputRequests",
            |ctx| async move {
                // A question the client cannot answer (NotSupported) is
                // never sent; the others go out together.
                let (elicited, sampled) = tokio::join!(
                    ctx.elicit_as("elicit_input", "Elicitation input", one_string("value")),
                    ctx.sample_as("sample_input", question("Sample request", 50)),
                );
                let mut received = Vec::new();
                for (key, answer) in [("elicit_input", elicited), ("sample_input", sampled)] {
                    match answer {
                        Ok(_) => received.push(key),
                        Err(InputError::NotSupported(_)) => {}
                        Err(other) => return Err(other),
                    }
                }
                Ok(if received.is_empty() {
                    "No supported capabilities declared".to_owned()
                } else {
                    format!("capabilities-ok: received {}", received.join(","))
                })
            },
        ),
    ]
}

/// `sampling/createMessage` params asking `text`.
fn question(text: &str, max_tokens: u32) -> Value {
    json!({"messages": [{"role": "user", "content": {"type": "text", "text": text}}], "maxTokens": max_tokens})
}

/// How many roots a `roots/list` answer names.
fn roots_in(answer: &Value) -> usize {
    answer["roots"].as_array().map_or(0, Vec::len)
}
