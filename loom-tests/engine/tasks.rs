//! **Tasks racing cancellation, completion and shutdown** (the tasks
//! extension over lines, 2026-07-28 requests): the task table, the work
//! spawned outside the session, and `tasks/cancel`.

use mcp_server_core::{Server, TaskSupport, Tool, ToolOutput};
use serde_json::{Value, json};
use shuttle::rand::{Rng, thread_rng};

use super::{Client, Running, assert_drained, config, serve};

const TASKS: &str = "io.modelcontextprotocol/tasks";
const TERMINAL: [&str; 3] = ["completed", "cancelled", "failed"];

/// `work`: yields a few times (so it becomes a task), then answers, unless
/// cancelled first.
fn work(running: &Running) -> Tool {
    let running = running.clone();
    Tool::new(
        "work",
        "yields, then answers",
        json!({"type": "object"}),
        move |_, ctx| {
            let slot = running.enter();
            async move {
                let _slot = slot;
                for _ in 0..3 {
                    tokio::select! {
                        () = tokio::task::yield_now() => {}
                        () = ctx.cancelled() => return Ok(ToolOutput::text("stopped")),
                    }
                }
                Ok(ToolOutput::text("worked"))
            }
        },
    )
    .task_support(TaskSupport::Optional)
}

/// The params of a 2026-07-28 request declaring the tasks extension.
fn params(mut extra: Value) -> Value {
    extra["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {TASKS: {}}},
        "io.modelcontextprotocol/clientInfo": {"name": "shuttle", "version": "0"}
    });
    extra
}

/// Sends request `id` and reads to its answer (notifications skipped);
/// `None` once the server has hung up.
async fn rpc(client: &mut Client, id: u64, method: &str, extra: Value) -> Option<Value> {
    if !client.request(id, method, params(extra)).await {
        return None;
    }
    loop {
        let message = client.recv().await?;
        if message.get("id").is_some() && message.get("method").is_none() {
            assert_eq!(message["id"], id, "an answer to another request: {message}");
            return Some(message);
        }
    }
}

/// **A task is cancelled, completes, or the server shuts down, in any
/// order.** The client starts `work` as a task, then (as the schedule
/// chooses) cancels it, leaves it, or the operator shuts down; it polls
/// `tasks/get` until the task ends or the server is gone.
///
/// - Once `tasks/get` shows a terminal status, it never shows another.
/// - A task the client cancelled ends `cancelled` or, if it had finished,
///   `completed`; never `failed`.
/// - The drain waits for the task's work (which runs outside every
///   session): afterwards its handler has ended, and nothing is live, held
///   or running.
pub fn tasks_race_cancel_and_shutdown() {
    let running = Running::new(1);
    shuttle::future::block_on(async move {
        let server = Server::builder().config(config()).tool(work(&running)).build();
        let (dialer, handle, served) = serve(server);
        let mut client = dialer.connect().await.expect("the server listens");
        let created = rpc(
            &mut client,
            1,
            "tools/call",
            json!({"name": "work", "arguments": {}}),
        )
        .await
        .expect("the call is answered");
        let task = created["result"]["taskId"].clone();
        assert!(task.is_string(), "work did not become a task: {created}");
        let choice = thread_rng().gen_range(0..3);
        let operator = handle.clone();
        let stop = tokio::spawn(async move {
            if choice == 2 {
                operator.shutdown();
            }
        });
        if choice == 0 {
            rpc(&mut client, 2, "tasks/cancel", json!({"taskId": task})).await;
        }
        let mut first_end: Option<String> = None;
        for id in 3..40 {
            let Some(got) = rpc(&mut client, id, "tasks/get", json!({"taskId": task})).await else {
                break;
            };
            let Some(status) = got["result"]["status"].as_str() else {
                // Refused while shutting down: the server is going.
                break;
            };
            match &first_end {
                Some(first) => assert_eq!(first, status, "task ended {first}, then was {status}"),
                None if TERMINAL.contains(&status) => first_end = Some(status.to_owned()),
                None => tokio::task::yield_now().await,
            }
            if choice == 0 && status == "failed" {
                panic!("a cancelled task failed: {got}");
            }
        }
        client.hang_up().await;
        stop.await.unwrap();
        handle.shutdown();
        tokio::time::trigger_timeouts(|_| true);
        served.await.expect("the serve loop returns");
        tokio::time::clear_triggers();
        assert_drained(&handle, config().max_sessions);
        running.assert_all_ended();
    });
}
