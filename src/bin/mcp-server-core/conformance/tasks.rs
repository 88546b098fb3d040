//! The fixtures of the tasks extension's scenarios (`tasks-*`).

use std::time::Duration;

use mcp_server_core::{TaskSupport, Tool, ToolError, ToolOutput};
use serde_json::json;

use super::input::{content_text, one_string};
use super::{STEP, no_args, with_string_arg};

/// The fixtures of the tasks extension's scenarios.
pub(super) fn task_tools() -> Vec<Tool> {
    let seconds = json!({"type": "object", "properties": {
        "seconds": {"type": "number", "minimum": 0, "description": "How long to work"},
        "label": {"type": "string"}
    }});
    vec![
        Tool::new(
            "greet",
            "Greets someone, at once (never a task)",
            with_string_arg("name", "Who to greet"),
            |args, _| async move { Ok(ToolOutput::text(format!("Hello, {}!", args["name"].as_str().unwrap_or("")))) },
        ),
        Tool::new("slow_compute", "Works for `seconds`, as a task", seconds, |args, _| async move {
            let secs = args["seconds"].as_f64().unwrap_or(1.0).clamp(0.0, 3600.0);
            tokio::time::sleep(Duration::from_secs_f64(secs)).await;
            let label = args["label"].as_str().unwrap_or("job");
            Ok(ToolOutput::text(format!("Computed {label} in {secs}s")))
        })
        .task_support(TaskSupport::Optional),
        Tool::new("failing_job", "Fails as a tool after about a second", no_args(), |_, _| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(ToolOutput::error("the job failed"))
        })
        .task_support(TaskSupport::Required),
        Tool::new("protocol_error_job", "Fails with a protocol error", no_args(), |_, _| async {
            tokio::time::sleep(STEP).await;
            Err(ToolError::Internal("the job broke".into()))
        })
        .task_support(TaskSupport::Optional),
        Tool::new("confirm_delete", "Asks for a confirmation while it runs as a task", no_args(), |_, ctx| async move {
            tokio::task::yield_now().await;
            let schema = json!({"type": "object", "properties": {"confirm": {"type": "boolean"}}, "required": ["confirm"]});
            let answer = ctx.elicit("Really delete?", schema).await?;
            let deleted = answer["action"] == "accept" && answer["content"]["confirm"] != false;
            Ok(ToolOutput::text(if deleted { "Deleted" } else { "Kept" }))
        })
        .task_support(TaskSupport::Optional),
        Tool::new("multi_input", "Asks two questions at once while it runs as a task", no_args(), |_, ctx| async move {
            tokio::task::yield_now().await;
            let (first, second) = tokio::join!(
                ctx.elicit("First question?", one_string("first")),
                ctx.elicit("Second question?", one_string("second")),
            );
            let (first, second) = (first?, second?);
            Ok(ToolOutput::text(format!(
                "first={}, second={}",
                content_text(&first, "first"),
                content_text(&second, "second")
            )))
        })
        .task_support(TaskSupport::Optional),
        Tool::new(
            "test_tool_with_task",
            "Asks a name (multi-round-trip), then works on as a task",
            no_args(),
            |_, ctx| async move {
                let name = ctx.elicit_as("user_name", "What is your name?", one_string("name")).await?;
                tokio::time::sleep(STEP).await;
                Ok(ToolOutput::text(format!("Hello, {}! (from a task)", content_text(&name, "name"))))
            },
        )
        .task_support(TaskSupport::Required),
    ]
}
