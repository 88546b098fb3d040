//! What the tests of the tasks extension share: tools that run as tasks,
//! and 2026-07-28 requests from a client that declares the extension.

use std::net::SocketAddr;
use std::time::Duration;

use mcp_server_core::{TaskSupport, Tool, ToolOutput};
use serde_json::{Value, json};

use super::wire::{Way, Wire};

/// The tasks extension's name.
pub const TASKS: &str = "io.modelcontextprotocol/tasks";

/// `work {ms}`: sleeps, then answers; "stopped" if cancelled first.
pub fn work() -> Tool {
    Tool::new("work", "works for ms", json!({"type": "object"}), |args, ctx| async move {
        let ms = args["ms"].as_u64().unwrap_or(0);
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(ms)) => Ok(ToolOutput::text(format!("worked {ms} ms"))),
            () = ctx.cancelled() => Ok(ToolOutput::text("stopped")),
        }
    })
    .task_support(TaskSupport::Optional)
}

/// `ask`: waits a moment (so it runs as a task), then asks a question.
pub fn ask() -> Tool {
    Tool::new(
        "ask",
        "asks while it runs",
        json!({"type": "object"}),
        |_, ctx| async move {
            tokio::task::yield_now().await;
            let answer = ctx.elicit("Name?", json!({"type": "object"})).await?;
            Ok(ToolOutput::text(format!(
                "hello {}",
                answer["content"]["name"].as_str().unwrap_or("?")
            )))
        },
    )
    .task_support(TaskSupport::Required)
}

/// `method` with `params`, sent over HTTP to `addr` by a 2026-07-28
/// client that declares the extension (and elicitation).
pub async fn rpc(addr: SocketAddr, method: &str, mut params: Value) -> Value {
    params["_meta"] = json!({"io.modelcontextprotocol/clientCapabilities":
        {"extensions": {TASKS: {}}, "elicitation": {}}});
    Wire::open(Way::Http2026, addr)
        .await
        .request(1, method, params)
        .await
}

/// Polls `tasks/get` on `addr` until task `id` is `want`; panics after
/// about 20 s.
pub async fn until_status(addr: SocketAddr, id: &Value, want: &str) -> Value {
    for _ in 0..800 {
        let task = rpc(addr, "tasks/get", json!({"taskId": id})).await["result"].clone();
        if task["status"] == want {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("task {id} never reached {want} on {addr}");
}
