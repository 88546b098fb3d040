//! The tasks extension over real sockets (2026-07-28, TCP and HTTP): a
//! task-capable tool called by a client that declares the extension
//! answers with a task; `tasks/get` shows it working, waiting for input
//! (answered by `tasks/update`), and ended; `tasks/cancel` stops its work;
//! a task past its TTL is gone and its work stopped; the table's cap
//! refuses at once; listen streams that named a task hear of it; shutdown
//! stops running tasks in time.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mcp_server_core::{Server, ServerConfig, TaskSupport, Tool, ToolOutput};
use serde_json::{Value, json};
use support::tasks::{TASKS, ask};
use support::wire::{Way, Wire};
use support::{TestServer, error_code, wait_until};

/// `work {ms}`: sleeps, then answers; records if its work was stopped.
fn work(stopped: Arc<AtomicBool>) -> Tool {
    Tool::new("work", "works for ms", json!({"type": "object"}), move |args, ctx| {
        let stopped = Arc::clone(&stopped);
        async move {
            let ms = args["ms"].as_u64().unwrap_or(0);
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(ms)) => Ok(ToolOutput::text(format!("worked {ms} ms"))),
                () = ctx.cancelled() => {
                    stopped.store(true, Ordering::SeqCst);
                    Ok(ToolOutput::text("stopped"))
                }
            }
        }
    })
    .task_support(TaskSupport::Optional)
}

fn server(config: ServerConfig, stopped: &Arc<AtomicBool>) -> Server {
    Server::builder()
        .config(config)
        .tool(work(Arc::clone(stopped)))
        .tool(ask())
        .build()
}

fn caps(tasks: bool) -> Value {
    if tasks {
        json!({"extensions": {TASKS: {}}, "elicitation": {}})
    } else {
        json!({"elicitation": {}})
    }
}

async fn rpc(wire: &mut Wire, method: &str, mut params: Value, tasks: bool) -> Value {
    params["_meta"] = json!({"io.modelcontextprotocol/clientCapabilities": caps(tasks)});
    wire.request(1, method, params).await
}

async fn status_of(wire: &mut Wire, id: &Value) -> Value {
    rpc(wire, "tasks/get", json!({"taskId": id}), true).await["result"].clone()
}

/// Polls `tasks/get` until the task's status is `want`.
async fn until_status(wire: &mut Wire, id: &Value, want: &str) -> Value {
    for _ in 0..400 {
        let task = status_of(wire, id).await;
        if task["status"] == want {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("task {id} never reached {want}");
}

crate::both_runtimes! {
    async fn a_task_runs_asks_and_ends_over_tcp_and_http() {
        for http in [false, true] {
            let stopped = Arc::new(AtomicBool::new(false));
            let server = TestServer::serve(server(ServerConfig::default(), &stopped), http).await;
            let way = if http { Way::Http2026 } else { Way::Tcp2026 };
            let mut wire = Wire::open(way, server.addr).await;

            // Without the extension: an optional task tool answers directly, a
            // required one is refused, and tasks/* need the extension too.
            let direct = rpc(
                &mut wire,
                "tools/call",
                json!({"name": "work", "arguments": {"ms": 1}}),
                false,
            )
            .await;
            assert_eq!(direct["result"]["resultType"], "complete", "{way:?}: {direct}");
            let refused = rpc(&mut wire, "tools/call", json!({"name": "ask"}), false).await;
            assert_eq!(error_code(&refused), -32021);
            assert_eq!(
                refused["error"]["data"]["requiredCapabilities"]["extensions"][TASKS],
                json!({})
            );

            // With it: a task, polled to its end.
            let created = rpc(
                &mut wire,
                "tools/call",
                json!({"name": "work", "arguments": {"ms": 100}}),
                true,
            )
            .await;
            let task = &created["result"];
            assert_eq!(task["resultType"], "task", "{way:?}: {created}");
            assert_eq!(task["status"], "working");
            assert!(task["ttlMs"].is_u64() && task["pollIntervalMs"].is_u64());
            let done = until_status(&mut wire, &task["taskId"], "completed").await;
            assert_eq!(done["result"]["content"][0]["text"], "worked 100 ms");
            assert_eq!(done["resultType"], "complete");

            // A task that asks: input_required, answered by tasks/update.
            let created = rpc(&mut wire, "tools/call", json!({"name": "ask"}), true).await;
            let id = created["result"]["taskId"].clone();
            let waiting = until_status(&mut wire, &id, "input_required").await;
            let key = waiting["inputRequests"]
                .as_object()
                .unwrap()
                .keys()
                .next()
                .unwrap()
                .clone();
            assert_eq!(waiting["inputRequests"][&key]["method"], "elicitation/create");
            let ack = rpc(
                &mut wire,
                "tasks/update",
                json!({"taskId": id, "inputResponses": {key: {"action": "accept", "content": {"name": "Ada"}}, "stray": {}}}),
                true,
            )
            .await;
            assert_eq!(ack["result"]["resultType"], "complete");
            let done = until_status(&mut wire, &id, "completed").await;
            assert_eq!(done["result"]["content"][0]["text"], "hello Ada");

            // Unknown tasks: -32602.
            let unknown = rpc(&mut wire, "tasks/get", json!({"taskId": "nope"}), true).await;
            assert_eq!(error_code(&unknown), -32602);
            server.stop().await;
        }
    }
}

crate::both_runtimes! {
    async fn cancel_expiry_and_the_cap_stop_work_or_refuse_at_once() {
        let stopped = Arc::new(AtomicBool::new(false));
        let config = ServerConfig::default()
            .max_tasks(1)
            .task_ttl(Duration::from_millis(300));
        let server = TestServer::serve(server(config, &stopped), true).await;
        let mut wire = Wire::open(Way::Http2026, server.addr).await;
        let long = json!({"name": "work", "arguments": {"ms": 60_000}});

        let first = rpc(&mut wire, "tools/call", long.clone(), true).await;
        let id = first["result"]["taskId"].clone();
        let full = rpc(&mut wire, "tools/call", long.clone(), true).await;
        assert_eq!(error_code(&full), -32000, "the cap answers at once: {full}");
        // The gauge of tasks held (catches `Tasks::len` made 0, or 1 below).
        let held = |n: u32| format!("\nmcp_tasks {n}\n");
        assert!(server.handle.metrics_text().contains(&held(1)), "one task held");
        assert_eq!(server.handle.metrics().tasks_rejected, 1, "and is counted");
        // Over HTTP the refusal is a 503.
        let mut raw = long.clone();
        raw["_meta"] = json!({"io.modelcontextprotocol/clientCapabilities": caps(true)});
        let refused = support::http::stateless(server.addr, "tools/call", Some("work"), raw).await;
        assert_eq!(refused.status, http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error_code(&refused.json().await), -32000);
        assert_eq!(server.handle.metrics().tasks_rejected, 2);
        let ack = rpc(&mut wire, "tasks/cancel", json!({"taskId": id}), true).await;
        assert_eq!(ack["result"]["resultType"], "complete");
        assert_eq!(status_of(&mut wire, &id).await["status"], "cancelled");
        wait_until("the cancelled task's work to stop", || {
            stopped.load(Ordering::SeqCst)
        })
        .await;
        let again = rpc(&mut wire, "tasks/cancel", json!({"taskId": id}), true).await;
        assert_eq!(again["result"]["resultType"], "complete", "cancel is idempotent");

        // Past its TTL a task is gone (and room is made); its work is stopped.
        tokio::time::sleep(Duration::from_millis(400)).await;
        stopped.store(false, Ordering::SeqCst);
        let second = rpc(&mut wire, "tools/call", long.clone(), true).await;
        let second_id = second["result"]["taskId"].clone();
        assert!(second_id.is_string(), "room after expiry: {second}");
        // Its TTL ends its work on time, with no one using the table (the
        // first expiry above was seen by the `tools/call` that made room).
        wait_until("the expired task's work to stop", || {
            stopped.load(Ordering::SeqCst)
        })
        .await;
        let gone = rpc(&mut wire, "tasks/get", json!({"taskId": second_id}), true).await;
        assert_eq!(error_code(&gone), -32602, "expired: {gone}");
        assert!(server.handle.metrics_text().contains(&held(0)), "none held");
        server.stop().await;
    }
}

crate::both_runtimes! {
    async fn listen_streams_that_named_a_task_hear_of_it_and_shutdown_stops_it() {
        let stopped = Arc::new(AtomicBool::new(false));
        let server = TestServer::serve(server(ServerConfig::default(), &stopped), true).await;
        let mut wire = Wire::open(Way::Http2026, server.addr).await;
        let created = rpc(&mut wire, "tools/call", json!({"name": "ask"}), true).await;
        let id = created["result"]["taskId"].as_str().unwrap().to_owned();

        // Naming tasks without the extension is refused.
        let params = json!({"notifications": {"taskIds": [id]}});
        let refused = support::http::stateless(server.addr, "subscriptions/listen", None, params.clone())
            .await
            .json()
            .await;
        assert_eq!(error_code(&refused), -32021);
        let mut listen_params = params;
        listen_params["_meta"] = json!({"io.modelcontextprotocol/clientCapabilities": caps(true)});
        let mut stream = support::http::stateless(server.addr, "subscriptions/listen", None, listen_params).await;
        let ack = stream.message().await.unwrap();
        assert_eq!(ack["params"]["notifications"]["taskIds"], json!([id]));
        // The task waits for input; answering it moves it on, and the stream
        // hears of each change, the result included.
        let waiting = until_status(&mut wire, &json!(id), "input_required").await;
        let key = waiting["inputRequests"]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone();
        let answer =
            json!({"taskId": id, "inputResponses": {key: {"action": "accept", "content": {"name": "Lin"}}}});
        rpc(&mut wire, "tasks/update", answer, true).await;
        let mut seen = Vec::new();
        while seen.last().map(String::as_str) != Some("completed") {
            assert!(seen.len() < 8, "no completion among {seen:?}");
            let note = stream.message().await.expect("a task notification");
            assert_eq!(note["method"], "notifications/tasks");
            assert_eq!(note["params"]["taskId"], id);
            assert_eq!(
                note["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
                1
            );
            if note["params"]["status"] == "completed" {
                assert_eq!(note["params"]["result"]["content"][0]["text"], "hello Lin");
            }
            seen.push(note["params"]["status"].as_str().unwrap().to_owned());
        }

        // A long task is running when the server shuts down: its work stops
        // and serve returns within the grace.
        rpc(
            &mut wire,
            "tools/call",
            json!({"name": "work", "arguments": {"ms": 60_000}}),
            true,
        )
        .await;
        let report = server.stop().await;
        assert!(report.elapsed < Duration::from_secs(5), "{report:?}");
        wait_until("the running task's work to stop", || {
            stopped.load(Ordering::SeqCst)
        })
        .await;
    }
}

/// `confirm`: waits a moment (so it runs as a task), then asks `sure`.
fn confirm() -> Tool {
    Tool::new(
        "confirm",
        "asks once it runs",
        json!({"type": "object"}),
        |_, ctx| async move {
            tokio::task::yield_now().await;
            let answer = ctx.elicit_as("sure", "Sure?", json!({"type": "object"})).await?;
            Ok(ToolOutput::text(format!("sure: {}", answer["action"])))
        },
    )
    .task_support(TaskSupport::Required)
}

crate::both_runtimes! {
    /// An answer the request brought (a multi-round-trip exchange before
    /// the task) answers the question the task then asks: the task ends
    /// without waiting for input. Catches `InputRound::answer` made `None`
    /// (the task asks again and waits for a `tasks/update` that never
    /// comes).
    async fn a_task_takes_an_answer_its_request_brought() {
        let server = TestServer::serve(Server::builder().tool(confirm()).build(), true).await;
        let mut wire = Wire::open(Way::Http2026, server.addr).await;
        let params = json!({"name": "confirm", "inputResponses": {"sure": {"action": "accept", "content": {}}}});
        let created = rpc(&mut wire, "tools/call", params, true).await;
        assert_eq!(created["result"]["resultType"], "task", "{created}");
        let done = until_status(&mut wire, &created["result"]["taskId"], "completed").await;
        assert_eq!(done["result"]["content"][0]["text"], "sure: \"accept\"");
        server.stop().await;
    }
}

/// `pair`: waits a moment (so it runs as a task), then asks two questions
/// at once, neither with a key of its own.
fn pair() -> Tool {
    Tool::new(
        "pair",
        "asks two at once",
        json!({"type": "object"}),
        |_, ctx| async move {
            tokio::task::yield_now().await;
            let schema = json!({"type": "object"});
            let (first, second) = tokio::join!(
                ctx.elicit("First?", schema.clone()),
                ctx.elicit("Second?", schema)
            );
            let (first, second) = (first?, second?);
            Ok(ToolOutput::text(format!(
                "{} {}",
                first["content"]["v"], second["content"]["v"]
            )))
        },
    )
    .task_support(TaskSupport::Required)
}

crate::both_runtimes! {
    /// A task that asks two questions at once shows both, each under a key
    /// of its own, and takes each answer to its question. Catches
    /// `ActiveTask::next_key` made a constant (the second question takes
    /// the first's place, and the first's wait ends).
    async fn a_task_asks_two_questions_at_once_under_keys_of_their_own() {
        let server = TestServer::serve(Server::builder().tool(pair()).build(), true).await;
        let mut wire = Wire::open(Way::Http2026, server.addr).await;
        let created = rpc(&mut wire, "tools/call", json!({"name": "pair"}), true).await;
        let id = created["result"]["taskId"].clone();
        let mut asked = Value::Null;
        for _ in 0..400 {
            asked = status_of(&mut wire, &id).await;
            if asked["inputRequests"].as_object().map_or(0, |q| q.len()) == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let Some(questions) = asked["inputRequests"].as_object() else {
            panic!("the task asks nothing: {asked}");
        };
        assert_eq!(questions.len(), 2, "{asked}");
        let answers: serde_json::Map<String, Value> = questions
            .iter()
            .map(|(key, q)| {
                let v = q["params"]["message"].as_str().unwrap().trim_end_matches('?').to_lowercase();
                (key.clone(), json!({"action": "accept", "content": {"v": v}}))
            })
            .collect();
        rpc(&mut wire, "tasks/update", json!({"taskId": id, "inputResponses": answers}), true).await;
        let done = until_status(&mut wire, &id, "completed").await;
        assert_eq!(done["result"]["content"][0]["text"], "\"first\" \"second\"");
        server.stop().await;
    }
}
