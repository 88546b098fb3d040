//! `--conformance`: the fixtures of the MCP conformance suite's reference
//! everything-server (repository modelcontextprotocol/conformance,
//! `examples/servers/typescript/everything-server.ts`): its tools,
//! resources, templates, prompts and completion, with the same names and
//! behaviour, built with the library's public API only.
//!
//! The `test_input_required_result_*` fixtures are written as any handler
//! that needs input is: they ask through their context, and the library
//! makes that an `input_required` round under 2026-07-28 (and a request on
//! the call's stream under 2025). The tasks extension's fixtures
//! (`greet`, `slow_compute`, ...) run as tasks where the suite expects one.

mod input;
mod tasks;

use std::time::Duration;

use mcp_server_core::{
    Completer, CompletionRef, Content, HandlerError, InputError, Prompt, PromptArgument, PromptOutput,
    ReadRequest, Resource, ResourceContents, ResourceTemplate, ServerBuilder, ServerHandle, Tool, ToolOutput,
};
use serde_json::{Value, json};

/// A 1x1 red PNG.
const TEST_IMAGE_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A minimal WAV file.
const TEST_AUDIO_BASE64: &str = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";
/// The resource `test://watched-resource` is said to change this often.
const WATCHED_INTERVAL: Duration = Duration::from_secs(3);
/// The pause between the log messages and progress steps of the tools that
/// send them, as in the reference server.
pub(super) const STEP: Duration = Duration::from_millis(50);
/// How long `test_reconnection` runs on after closing its stream.
const RECONNECT_WAIT: Duration = Duration::from_millis(100);

/// Registers every fixture on `builder`.
pub(crate) fn fixtures(builder: ServerBuilder) -> ServerBuilder {
    let builder = tools().into_iter().fold(builder, ServerBuilder::tool);
    let builder = input::input_required_tools()
        .into_iter()
        .fold(builder, ServerBuilder::tool);
    let builder = tasks::task_tools().into_iter().fold(builder, ServerBuilder::tool);
    let builder = resources().into_iter().fold(builder, ServerBuilder::resource);
    let builder = prompts().into_iter().fold(builder, ServerBuilder::prompt);
    builder
        .resource_template(template())
        .completer(completer())
        .server_info("mcp-conformance-test-server", "1.0.0")
}

/// Tells subscribers of `test://watched-resource` that it changed, every
/// [`WATCHED_INTERVAL`], until the server shuts down.
pub(crate) async fn watch(handle: ServerHandle) {
    let mut ticks = tokio::time::interval(WATCHED_INTERVAL);
    ticks.tick().await;
    while !handle.is_shutting_down() {
        ticks.tick().await;
        handle.resource_updated("test://watched-resource");
    }
}

pub(super) fn no_args() -> Value {
    json!({"type": "object", "properties": {}})
}

/// A tool with no arguments that returns `content`.
fn constant(name: &str, description: &str, content: Vec<Content>) -> Tool {
    Tool::new(name, description, no_args(), move |_, _| {
        let content = content.clone();
        async move { Ok(ToolOutput::new(content)) }
    })
}

/// A tool whose one string argument `arg` is required.
pub(super) fn with_string_arg(arg: &str, description: &str) -> Value {
    json!({
        "type": "object",
        "properties": {arg: {"type": "string", "description": description}},
        "required": [arg],
    })
}

/// A tool that elicits with `message` and `schema`, and reports the answer
/// as `Elicitation completed: action=..., content=...` (or the failure).
fn eliciting(name: &str, description: &str, message: &'static str, schema: Value) -> Tool {
    Tool::new(name, description, no_args(), move |_, ctx| {
        let schema = schema.clone();
        async move {
            let answer = ctx.elicit(message, schema).await;
            Ok(ToolOutput::text(report("Elicitation completed", answer)))
        }
    })
}

/// The text the reference server answers an elicitation with.
fn report(prefix: &str, answer: Result<Value, InputError>) -> String {
    match answer {
        Ok(result) => {
            let content = result.get("content").cloned().unwrap_or_else(|| json!({}));
            format!(
                "{prefix}: action={}, content={content}",
                result["action"].as_str().unwrap_or("")
            )
        }
        Err(e) => format!("Elicitation not supported or error: {e}"),
    }
}

fn tools() -> Vec<Tool> {
    let image = || Content::image(TEST_IMAGE_BASE64, "image/png");
    vec![
        constant(
            "test_simple_text",
            "Tests simple text content response",
            vec![Content::text("This is a simple text response for testing.")],
        ),
        constant(
            "test_image_content",
            "Tests image content response",
            vec![image()],
        ),
        constant(
            "test_audio_content",
            "Tests audio content response",
            vec![Content::audio(TEST_AUDIO_BASE64, "audio/wav")],
        ),
        constant(
            "test_embedded_resource",
            "Tests embedded resource content response",
            vec![Content::resource(
                ResourceContents::text(
                    "test://embedded-resource",
                    "This is an embedded resource content.",
                )
                .mime_type("text/plain"),
            )],
        ),
        constant(
            "test_multiple_content_types",
            "Tests response with multiple content types (text, image, resource)",
            vec![
                Content::text("Multiple content types test:"),
                image(),
                Content::resource(
                    ResourceContents::text(
                        "test://mixed-content-resource",
                        json!({"test": "data", "value": 123}).to_string(),
                    )
                    .mime_type("application/json"),
                ),
            ],
        ),
        Tool::new(
            "test_tool_with_logging",
            "Tests tool that emits log messages during execution",
            no_args(),
            |_, ctx| async move {
                for (i, message) in [
                    "Tool execution started",
                    "Tool processing data",
                    "Tool execution completed",
                ]
                .into_iter()
                .enumerate()
                {
                    if i > 0 {
                        tokio::time::sleep(STEP).await;
                    }
                    let _ = ctx.log("info", None, json!(message));
                }
                Ok(ToolOutput::text("Tool with logging executed successfully"))
            },
        ),
        Tool::new(
            "test_tool_with_progress",
            "Tests tool that reports progress notifications",
            no_args(),
            |_, ctx| async move {
                for (i, step) in [0.0, 50.0, 100.0].into_iter().enumerate() {
                    if i > 0 {
                        tokio::time::sleep(STEP).await;
                    }
                    let _ = ctx.progress(step, Some(100.0), Some(&format!("Completed step {step} of 100")));
                }
                let token = match ctx.progress_token() {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => "0".to_owned(),
                };
                Ok(ToolOutput::text(token))
            },
        ),
        Tool::new(
            "test_sampling",
            "Tests server-initiated sampling (LLM completion request)",
            with_string_arg("prompt", "The prompt to send to the LLM"),
            |args, ctx| async move {
                let prompt = args["prompt"].as_str().unwrap_or_default().to_owned();
                let params = json!({
                    "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}],
                    "maxTokens": 100,
                });
                let text = match ctx.sample(params).await {
                    Ok(result) => {
                        let said = result["content"]["text"].as_str().unwrap_or("No response");
                        format!("LLM response: {said}")
                    }
                    Err(e) => format!("Sampling not supported or error: {e}"),
                };
                Ok(ToolOutput::text(text))
            },
        ),
        Tool::new(
            "test_elicitation",
            "Tests server-initiated elicitation (user input request)",
            with_string_arg("message", "The message to show the user"),
            |args, ctx| async move {
                let message = args["message"].as_str().unwrap_or_default().to_owned();
                let schema = json!({
                    "type": "object",
                    "properties": {"response": {"type": "string", "description": "User's response"}},
                    "required": ["response"],
                });
                Ok(ToolOutput::text(report(
                    "User response",
                    ctx.elicit(&message, schema).await,
                )))
            },
        ),
        eliciting(
            "test_elicitation_sep1034_defaults",
            "Tests elicitation with default values per SEP-1034",
            "Please review and update the form fields with defaults",
            json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "User name", "default": "John Doe"},
                    "age": {"type": "integer", "description": "User age", "default": 30},
                    "score": {"type": "number", "description": "User score", "default": 95.5},
                    "status": {
                        "type": "string", "description": "User status",
                        "enum": ["active", "inactive", "pending"], "default": "active"
                    },
                    "verified": {"type": "boolean", "description": "Verification status", "default": true}
                },
                "required": []
            }),
        ),
        eliciting(
            "test_elicitation_sep1330_enums",
            "Tests elicitation with enum schema improvements per SEP-1330",
            "Please select options from the enum fields",
            json!({
                "type": "object",
                "properties": {
                    "untitledSingle": {
                        "type": "string", "description": "Select one option",
                        "enum": ["option1", "option2", "option3"]
                    },
                    "titledSingle": {
                        "type": "string", "description": "Select one option with titles",
                        "oneOf": [
                            {"const": "value1", "title": "First Option"},
                            {"const": "value2", "title": "Second Option"},
                            {"const": "value3", "title": "Third Option"}
                        ]
                    },
                    "legacyEnum": {
                        "type": "string", "description": "Select one option (legacy)",
                        "enum": ["opt1", "opt2", "opt3"],
                        "enumNames": ["Option One", "Option Two", "Option Three"]
                    },
                    "untitledMulti": {
                        "type": "array", "description": "Select multiple options", "minItems": 1, "maxItems": 3,
                        "items": {"type": "string", "enum": ["option1", "option2", "option3"]}
                    },
                    "titledMulti": {
                        "type": "array", "description": "Select multiple options with titles",
                        "minItems": 1, "maxItems": 3,
                        "items": {"anyOf": [
                            {"const": "value1", "title": "First Choice"},
                            {"const": "value2", "title": "Second Choice"},
                            {"const": "value3", "title": "Third Choice"}
                        ]}
                    }
                },
                "required": []
            }),
        ),
        Tool::new(
            "test_reconnection",
            "Tests SSE stream disconnection and client reconnection (SEP-1699). Server will close the stream \
             mid-call and send the result after client reconnects.",
            no_args(),
            |_, ctx| async move {
                ctx.close_stream();
                tokio::time::sleep(RECONNECT_WAIT).await;
                Ok(ToolOutput::text(
                    "Reconnection test completed successfully. If you received this, the client properly \
                     reconnected after stream closure.",
                ))
            },
        ),
        Tool::new(
            "test_error_handling",
            "Tests error response handling",
            no_args(),
            |_, _| async {
                Ok(ToolOutput::error(
                    "This tool intentionally returns an error for testing",
                ))
            },
        ),
        Tool::new(
            "json_schema_2020_12_tool",
            "Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613)",
            json_schema_2020_12(),
            |args, _| async move {
                Ok(ToolOutput::text(format!(
                    "JSON Schema 2020-12 tool called with: {args}"
                )))
            },
        ),
        constant(
            "test_streaming_elicitation",
            "Diagnostic tool validating response progress streams",
            vec![Content::text("Streaming complete")],
        ),
        Tool::new(
            "test_logging_tool",
            "Diagnostic logging validator tool",
            no_args(),
            |_, ctx| async move {
                let _ = ctx.log("info", None, json!("Diagnostic trace logging activated"));
                Ok(ToolOutput::text("Logging evaluated"))
            },
        ),
        constant(
            "test_missing_capability",
            "Test tool requiring sampling",
            vec![Content::text("Success")],
        )
        .requires_client_capability("sampling"),
        Tool::new(
            "test_custom_headers",
            "Mirrors region and priority into Mcp-Param-* headers (x-mcp-header)",
            json!({
                "type": "object",
                "properties": {
                    "region": {"type": "string", "description": "Where to run", "x-mcp-header": "Region"},
                    "priority": {"type": "integer", "description": "How urgent", "x-mcp-header": "Priority"},
                    "query": {"type": "string", "description": "Not mirrored"}
                },
                "required": ["region", "query"]
            }),
            |args, _| async move { Ok(ToolOutput::text(format!("Custom headers test completed: {args}"))) },
        ),
        Tool::new(
            "test_trigger_tool_change",
            "Adds (or replaces) the tool test_dynamic_tool, so clients are told the tool list changed",
            no_args(),
            |_, ctx| async move {
                ctx.server().add_tool(constant(
                    "test_dynamic_tool",
                    "A tool added while the server runs",
                    vec![Content::text("This is a dynamically added tool.")],
                ));
                Ok(ToolOutput::text("Mutation triggered"))
            },
        ),
        Tool::new(
            "test_trigger_prompt_change",
            "Adds (or replaces) the prompt test_dynamic_prompt, so clients are told the prompt list changed",
            no_args(),
            |_, ctx| async move {
                ctx.server().add_prompt(simple_prompt(
                    "test_dynamic_prompt",
                    "A prompt added while the server runs",
                    vec![Content::text("This is a dynamically added prompt.")],
                ));
                Ok(ToolOutput::text("Mutation triggered"))
            },
        ),
    ]
}

/// The input schema of `json_schema_2020_12_tool`: the keywords a client
/// must pass through unchanged (`$schema`, `$defs`, `$anchor`, `$ref`,
/// composition and conditionals, `additionalProperties`).
fn json_schema_2020_12() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "$anchor": "addressDef",
                "type": "object",
                "properties": {"street": {"type": "string"}, "city": {"type": "string"}}
            }
        },
        "properties": {
            "name": {"type": "string"},
            "address": {"$ref": "#/$defs/address"},
            "contactMethod": {"type": "string", "enum": ["phone", "email"]},
            "phone": {"type": "string"},
            "email": {"type": "string"}
        },
        "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
        "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
        "then": {"required": ["phone"]},
        "else": {"required": ["email"]},
        "additionalProperties": false
    })
}

/// A resource at `uri` whose contents are always `contents`.
fn fixed(uri: &'static str, name: &str, contents: ResourceContents) -> Resource {
    Resource::new(uri, name, move |_: ReadRequest, _| {
        let contents = contents.clone();
        async move { Ok(vec![contents]) }
    })
}

fn resources() -> Vec<Resource> {
    vec![
        fixed(
            "test://static-text",
            "static-text",
            ResourceContents::text(
                "test://static-text",
                "This is the content of the static text resource.",
            )
            .mime_type("text/plain"),
        )
        .title("Static Text Resource")
        .description("A static text resource for testing")
        .mime_type("text/plain"),
        fixed(
            "test://static-binary",
            "static-binary",
            ResourceContents::blob("test://static-binary", TEST_IMAGE_BASE64).mime_type("image/png"),
        )
        .title("Static Binary Resource")
        .description("A static binary resource (image) for testing")
        .mime_type("image/png"),
        fixed(
            "test://watched-resource",
            "watched-resource",
            ResourceContents::text("test://watched-resource", "Watched resource content")
                .mime_type("text/plain"),
        )
        .title("Watched Resource")
        .description("A resource that auto-updates every 3 seconds")
        .mime_type("text/plain"),
        fixed(
            "test://stateless-static-text",
            "Stateless Static Text",
            ResourceContents::text(
                "test://stateless-static-text",
                "Static text content from the stateless draft path.",
            )
            .mime_type("text/plain"),
        )
        .description("A static text resource served on the draft path")
        .mime_type("text/plain"),
    ]
}

fn template() -> ResourceTemplate {
    ResourceTemplate::new(
        "test://template/{id}/data",
        "template",
        |request: ReadRequest, _| async move {
            let id = request.var("id").ok_or(HandlerError::NotFound)?.to_owned();
            let text = json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")});
            Ok(vec![
                ResourceContents::text(request.uri(), text.to_string()).mime_type("application/json"),
            ])
        },
    )
    .title("Resource Template")
    .description("A resource template with parameter substitution")
    .mime_type("application/json")
}

/// A prompt with no arguments whose one user message is each of `content`.
fn simple_prompt(name: &str, description: &str, content: Vec<Content>) -> Prompt {
    Prompt::new(name, vec![], move |_, _| {
        let content = content.clone();
        async move { Ok(content.into_iter().fold(PromptOutput::new(), PromptOutput::user)) }
    })
    .description(description)
}

fn prompts() -> Vec<Prompt> {
    vec![
        simple_prompt(
            "test_simple_prompt",
            "A simple prompt without arguments",
            vec![Content::text("This is a simple prompt for testing.")],
        )
        .title("Simple Test Prompt"),
        Prompt::new(
            "test_prompt_with_arguments",
            vec![
                PromptArgument::required("arg1", "First test argument"),
                PromptArgument::required("arg2", "Second test argument"),
            ],
            |args, _| async move {
                let text = format!(
                    "Prompt with arguments: arg1='{}', arg2='{}'",
                    args["arg1"], args["arg2"]
                );
                Ok(PromptOutput::new().user(Content::text(text)))
            },
        )
        .title("Prompt With Arguments")
        .description("A prompt with required arguments"),
        Prompt::new(
            "test_prompt_with_embedded_resource",
            vec![PromptArgument::required(
                "resourceUri",
                "URI of the resource to embed",
            )],
            |args, _| async move {
                let embedded =
                    ResourceContents::text(&args["resourceUri"], "Embedded resource content for testing.")
                        .mime_type("text/plain");
                Ok(PromptOutput::new()
                    .user(Content::resource(embedded))
                    .user(Content::text("Please process the embedded resource above.")))
            },
        )
        .title("Prompt With Embedded Resource")
        .description("A prompt that includes an embedded resource"),
        simple_prompt(
            "test_prompt_with_image",
            "A prompt that includes image content",
            vec![
                Content::image(TEST_IMAGE_BASE64, "image/png"),
                Content::text("Please analyze the image above."),
            ],
        )
        .title("Prompt With Image"),
        Prompt::new("test_input_required_result_prompt", vec![], |_, ctx| async move {
            use input::{content_text, one_string};
            let answer = ctx
                .elicit_as(
                    "user_context",
                    "What context should the prompt use?",
                    one_string("context"),
                )
                .await?;
            let text = format!("Prompt with context: {}", content_text(&answer, "context"));
            Ok(PromptOutput::new().user(Content::text(text)))
        })
        .description("MRTR: prompt that requires elicitation input"),
    ]
}

/// Completes `arg1`/`arg2` of `test_prompt_with_arguments` and the `id` of
/// the template from small fixed lists, by prefix.
fn completer() -> Completer {
    Completer::new(|request, _| async move {
        let candidates: &[&str] = match (&request.reference, request.argument.as_str()) {
            (CompletionRef::Prompt(name), "arg1" | "arg2") if name == "test_prompt_with_arguments" => {
                &["paris", "park", "party", "test", "testing"]
            }
            (CompletionRef::Resource(uri), "id") if uri == "test://template/{id}/data" => {
                &["1", "2", "3", "42"]
            }
            _ => &[],
        };
        Ok(candidates
            .iter()
            .filter(|c| c.starts_with(&request.value))
            .map(|c| (*c).to_owned())
            .collect())
    })
}
