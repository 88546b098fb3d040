//! The server surface beyond tools, over every way a client reaches it
//! (TCP and Streamable HTTP, each in a 2025 session and as 2026-07-28
//! stateless requests): resources and templates, prompts, completion,
//! paged lists, list changes at run time, resource subscriptions, handler
//! logging, typed tools and the capabilities advertised.

#![cfg(not(any(loom, shuttle)))]

#[path = "server_surface/catalog.rs"]
mod catalog;
#[path = "server_surface/icons.rs"]
mod icons;
#[path = "server_surface/notifications.rs"]
mod notifications;
mod support;

use std::time::Duration;

use mcp_server_core::{
    Completer, CompletionRef, Content, HandlerError, MAX_SUBSCRIBED_BYTES_PER_SESSION, Prompt,
    PromptArgument, PromptOutput, ReadRequest, Resource, ResourceContents, ResourceTemplate, Server,
    ServerConfig, Tool, ToolError, ToolOutput,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use support::wire::{Way, Wire};
use support::{TestServer, error_code};

/// Items per page in these tests: every list spans several pages.
const PAGE: usize = 2;

fn text_resource(uri: &'static str) -> Resource {
    Resource::new(
        uri,
        uri.trim_start_matches("mem://"),
        move |_: ReadRequest, _| async move {
            Ok(vec![
                ResourceContents::text(uri, format!("contents of {uri}")).mime_type("text/plain"),
            ])
        },
    )
}

/// A tool with no arguments that logs one message at each of `levels`.
fn logger() -> Tool {
    Tool::new("logger", "logs", json!({"type": "object"}), |_, ctx| async move {
        for level in ["debug", "info", "error"] {
            let _ = ctx.log(level, Some("test"), json!(format!("a {level} message")));
        }
        // Sent as a plain notification: gated all the same.
        let raw = json!({"level": "debug", "data": "a raw debug message"});
        let _ = ctx.notify("notifications/message", Some(raw));
        Ok(ToolOutput::text("logged"))
    })
}

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    /// The first number.
    a: i64,
    /// The second number.
    b: i64,
}

#[derive(Serialize, JsonSchema)]
struct Sum {
    sum: i64,
}

fn adder() -> Tool {
    Tool::typed("add", "adds two numbers", |args: AddArgs, _| async move {
        args.a
            .checked_add(args.b)
            .map(|sum| Sum { sum })
            .ok_or_else(|| ToolError::InvalidArguments("the sum overflows".into()))
    })
}

#[derive(Deserialize, JsonSchema)]
struct TripArgs {
    /// Where to.
    city: String,
    /// For how long.
    days: Option<String>,
}

fn trip() -> Prompt {
    Prompt::typed("trip", |args: TripArgs, _| async move {
        let days = args.days.as_deref().unwrap_or("a few");
        Ok(PromptOutput::new().user(Content::text(format!("Plan {days} days in {}.", args.city))))
    })
}

fn greet() -> Prompt {
    Prompt::new(
        "greet",
        vec![
            PromptArgument::required("name", "who to greet"),
            PromptArgument::optional("mood", "how"),
        ],
        |args, _| async move {
            let mood = args.get("mood").map_or("warmly", String::as_str);
            Ok(PromptOutput::new().user(Content::text(format!("Greet {} {mood}.", args["name"]))))
        },
    )
    .description("a greeting")
}

fn surface() -> Server {
    let mut builder = Server::builder()
        .config(ServerConfig::default().page_size(PAGE))
        .builtin_tools()
        .tool(logger())
        .tool(adder())
        .prompt(greet())
        .prompt(Prompt::new("plain", vec![], |_, _| async {
            Ok(PromptOutput::new().assistant(Content::text("plain")))
        }))
        .prompt(Prompt::new("third", vec![], |_, _| async {
            Ok(PromptOutput::new())
        }))
        .prompt(trip())
        .resource(
            Resource::new("mem://blob", "blob", |_, _| async {
                Ok(vec![
                    ResourceContents::blob("mem://blob", "AAEC").mime_type("application/octet-stream"),
                ])
            })
            .mime_type("application/octet-stream"),
        )
        .resource_template(ResourceTemplate::new(
            "mem://users/{id}",
            "user",
            |request: ReadRequest, _| async move {
                let id = request.var("id").unwrap_or_default().to_owned();
                if id == "0" {
                    return Err(HandlerError::NotFound);
                }
                Ok(vec![ResourceContents::text(request.uri(), format!("user {id}"))])
            },
        ))
        .resource_template(ResourceTemplate::new(
            "mem://a/{x}",
            "a",
            |r: ReadRequest, _| async move { Ok(vec![ResourceContents::text(r.uri(), "a")]) },
        ))
        .resource_template(ResourceTemplate::new(
            "mem://b/{x}",
            "b",
            |r: ReadRequest, _| async move { Ok(vec![ResourceContents::text(r.uri(), "b")]) },
        ))
        .completer(Completer::new(|request, _| async move {
            let pool: Vec<String> = match (&request.reference, request.argument.as_str()) {
                (CompletionRef::Prompt(p), "name") if p == "greet" => {
                    ["ada", "alan", "grace"].map(String::from).to_vec()
                }
                (CompletionRef::Resource(t), "id") if t == "mem://users/{id}" => {
                    (0..250).map(|i| i.to_string()).collect()
                }
                _ => vec![],
            };
            Ok(pool
                .into_iter()
                .filter(|v| v.starts_with(&request.value))
                .collect())
        }));
    for uri in [
        "mem://one",
        "mem://two",
        "mem://three",
        "mem://four",
        "mem://five",
    ] {
        builder = builder.resource(text_resource(uri));
    }
    builder.build()
}

/// Every item of a list, following `nextCursor` page by page.
async fn page_through(wire: &mut Wire, method: &str, key: &str, field: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor = Value::Null;
    for id in 100.. {
        let params = if cursor.is_null() {
            json!({})
        } else {
            json!({"cursor": cursor})
        };
        let response = wire.request(id, method, params).await;
        let result = &response["result"];
        let page = result[key]
            .as_array()
            .unwrap_or_else(|| panic!("{method}: {response}"));
        assert!(page.len() <= PAGE, "{method}: a page of {}", page.len());
        names.extend(
            page.iter()
                .map(|item| item[field].as_str().expect("a name").to_owned()),
        );
        cursor = result.get("nextCursor").cloned().unwrap_or(Value::Null);
        if cursor.is_null() {
            break;
        }
        assert!(!page.is_empty(), "{method}: an empty page with a next cursor");
    }
    names
}
