//! The built-in tools, so the binary serves something useful with no setup:
//! `echo`, `sleep`, `broadcast` and `confirm`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::protocol::mcp::{LOG_LEVELS, log_level_rank};
use crate::server::Notification;
use crate::server::{RequestContext, TaskSupport, Tool, ToolError, ToolOutput};

/// Longest `sleep` accepted, in milliseconds (one hour).
pub const MAX_SLEEP_MS: u64 = 3_600_000;
/// Progress notifications a `sleep` sends at most, when asked for progress.
const SLEEP_PROGRESS_STEPS: u64 = 10;

/// All built-in tools.
pub fn tools() -> Vec<Tool> {
    vec![echo(), sleep(), broadcast(), confirm()]
}

/// `confirm`: asks the user a yes/no `question` through the client
/// (elicitation) and says what they answered.
pub fn confirm() -> Tool {
    Tool::new(
        "confirm",
        "Asks the user a yes/no question (through the client's elicitation) and returns the answer.",
        json!({
            "type": "object",
            "properties": {"question": {"type": "string", "description": "What to ask."}},
            "required": ["question"],
        }),
        |mut args: Value, ctx: RequestContext| async move {
            let question = string_arg(&mut args, "question")?;
            let schema = json!({
                "type": "object",
                "properties": {"yes": {"type": "boolean", "title": "Yes?", "description": question}},
                "required": ["yes"],
            });
            let answer = match ctx.elicit(&question, schema).await {
                Ok(answer) => answer,
                Err(e) => return Ok(ToolOutput::error(format!("could not ask: {e}"))),
            };
            let text = match (answer["action"].as_str(), answer["content"]["yes"].as_bool()) {
                (Some("accept"), Some(true)) => "yes",
                (Some("accept"), _) => "no",
                (Some("decline"), _) => "declined",
                _ => "cancelled",
            };
            Ok(ToolOutput::text(text))
        },
    )
}

/// `echo`: returns its `text`.
pub fn echo() -> Tool {
    Tool::new(
        "echo",
        "Returns the given text unchanged.",
        json!({
            "type": "object",
            "properties": {"text": {"type": "string", "description": "The text to return."}},
            "required": ["text"],
        }),
        |mut args: Value, _ctx: RequestContext| async move {
            let text = string_arg(&mut args, "text")?;
            Ok(ToolOutput::text(text))
        },
    )
}

/// `sleep`: waits `ms` milliseconds, stopping early when cancelled, and
/// reports progress when the request carries a `progressToken`. With
/// `poll`, it closes its request's SSE stream after its first progress
/// report (at once without progress), for the client to resume it with
/// `Last-Event-ID` (SEP-1699). For a client that declares the tasks
/// extension, a sleep that waits runs as a task.
pub fn sleep() -> Tool {
    Tool::new(
        "sleep",
        "Waits the given number of milliseconds, then returns. Stops early when cancelled; \
         reports progress when asked.",
        json!({
            "type": "object",
            "properties": {
                "ms": {
                    "type": "integer", "minimum": 0, "maximum": MAX_SLEEP_MS,
                    "description": "How long to wait, in milliseconds."
                },
                "poll": {
                    "type": "boolean", "default": false,
                    "description": "Close the request's stream after the first progress report (at once without \
                                    progress); the client resumes it for the rest (HTTP, SEP-1699)."
                }
            },
            "required": ["ms"],
        }),
        |args: Value, ctx: RequestContext| async move {
            let ms = args
                .get("ms")
                .and_then(Value::as_u64)
                .filter(|ms| *ms <= MAX_SLEEP_MS)
                .ok_or_else(|| {
                    ToolError::InvalidArguments(format!("ms must be an integer from 0 to {MAX_SLEEP_MS}"))
                })?;
            let poll = args.get("poll").and_then(Value::as_bool).unwrap_or(false);
            let steps = if ctx.wants_progress() {
                SLEEP_PROGRESS_STEPS.min(ms.max(1))
            } else {
                1
            };
            if poll && !ctx.wants_progress() {
                ctx.close_stream();
            }
            let total = Duration::from_millis(ms);
            let start = tokio::time::Instant::now();
            for step in 1..=steps {
                let until = start + total.mul_f64(step as f64 / steps as f64);
                tokio::select! {
                    biased;
                    () = ctx.cancelled() => return Ok(ToolOutput::error(format!("cancelled after {} ms", start.elapsed().as_millis()))),
                    () = tokio::time::sleep_until(until) => {}
                }
                // A dropped progress notification is counted; the sleep goes on.
                let _ = ctx.progress(
                    step as f64,
                    Some(steps as f64),
                    Some(&format!("slept {step}/{steps}")),
                );
                if poll && step == 1 {
                    ctx.close_stream();
                }
            }
            Ok(ToolOutput::text(format!("slept {ms} ms")))
        },
    )
    .task_support(TaskSupport::Optional)
}

/// `broadcast`: sends a `notifications/message` to every client that may
/// receive it and says how many got it and how many were dropped.
pub fn broadcast() -> Tool {
    Tool::new(
        "broadcast",
        "Sends a log message (notifications/message) to every connected client that may receive it, \
         and reports how many got it and how many were dropped.",
        json!({
            "type": "object",
            "properties": {
                "message": {"type": "string", "description": "The message to send."},
                "level": {"type": "string", "enum": LOG_LEVELS, "default": "info"}
            },
            "required": ["message"],
        }),
        |mut args: Value, ctx: RequestContext| async move {
            let message = string_arg(&mut args, "message")?;
            let level = match args.get("level") {
                None => "info",
                Some(level) => level
                    .as_str()
                    .filter(|l| log_level_rank(l).is_some())
                    .ok_or_else(|| {
                        ToolError::InvalidArguments(format!("level must be one of {LOG_LEVELS:?}"))
                    })?,
            };
            let report =
                ctx.server()
                    .broadcast(&Notification::log(level, Some("broadcast"), Value::from(message)));
            Ok(ToolOutput::structured(json!({
                "delivered": report.queued,
                "dropped": report.dropped,
                "gone": report.gone,
            })))
        },
    )
}

/// The string argument `name`, taken out of `args` (not copied).
fn string_arg(args: &mut Value, name: &str) -> Result<String, ToolError> {
    match args.get_mut(name).map(Value::take) {
        Some(Value::String(text)) => Ok(text),
        _ => Err(ToolError::InvalidArguments(format!(
            "{name} (string) is required"
        ))),
    }
}
