//! Tasks in a task store: servers that share one answer `tasks/get`,
//! `tasks/update` and `tasks/cancel` for each other's tasks (2026-07-28 over
//! HTTP, each request sent to a server of the test's choosing, as a round
//! robin would). A cancel or an update sent to a server that does not run
//! the task reaches the one that does; a task whose server stopped is
//! reported failed once its lease lapses; a task the store cannot take is
//! not started. The store is the in-process `MemoryStore` (the Redis store
//! has its own tests).

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mcp_server_core::server::store::{MemoryStore, StoreError, StoreFuture, TaskRecord, TaskStore};
use mcp_server_core::{Server, ServerConfig, TaskSupport, Tool, ToolOutput};
use serde_json::json;
use support::tasks::{ask, rpc, until_status, work};
use support::{TestServer, error_code, wait_until};

/// A server over HTTP with `work` and `ask`, keeping tasks in `store`.
async fn replica(store: Arc<dyn TaskStore>, config: ServerConfig) -> TestServer {
    let server = Server::builder()
        .config(config)
        .tool(work())
        .tool(ask())
        .task_store(store)
        .build();
    TestServer::serve(server, true).await
}

crate::both_runtimes! {
    /// **Any server shows any task.** A task started on A is shown working
    /// by B, then completed with its result, exactly as A shows it. A's
    /// lease is long, so its record is renewed only after the test: the
    /// completion reaches the store because A's keeper is told of it
    /// (catches `Tasks::changed` made `()`, which the renewal every third
    /// of a 10 s lease hid).
    async fn a_task_started_on_one_server_is_followed_on_another() {
        let store: Arc<dyn TaskStore> = Arc::new(MemoryStore::new());
        let long_lease = ServerConfig::default().task_lease(Duration::from_secs(300));
        let a = replica(Arc::clone(&store), long_lease).await;
        let b = replica(Arc::clone(&store), ServerConfig::default()).await;
        let created = rpc(a.addr, "tools/call", json!({"name": "work", "arguments": {"ms": 300}})).await;
        assert_eq!(created["result"]["resultType"], "task", "{created}");
        let id = created["result"]["taskId"].clone();
        let record = store.load_task(id.as_str().unwrap()).await.unwrap();
        assert!(record.expect("saved before the answer").lease_until_ms.is_some());
        let seen = rpc(b.addr, "tasks/get", json!({"taskId": id})).await;
        assert_eq!(seen["result"]["status"], "working", "{seen}");
        let done = until_status(b.addr, &id, "completed").await;
        assert_eq!(done["result"]["content"][0]["text"], "worked 300 ms");
        let on_a = rpc(a.addr, "tasks/get", json!({"taskId": id})).await["result"].clone();
        assert_eq!(done, on_a, "B shows what A shows");
        let unknown = rpc(b.addr, "tasks/get", json!({"taskId": "nope"})).await;
        assert_eq!(error_code(&unknown), -32602);
        a.stop().await;
        b.stop().await;
    }
}

crate::both_runtimes! {
    /// **A cancel and an update reach the running server.** Sent to B,
    /// `tasks/cancel` stops A's work, and `tasks/update` answers the
    /// question A's task waits on.
    async fn a_cancel_and_an_update_sent_elsewhere_reach_the_running_server() {
        let store: Arc<dyn TaskStore> = Arc::new(MemoryStore::new());
        let a = replica(Arc::clone(&store), ServerConfig::default()).await;
        let b = replica(Arc::clone(&store), ServerConfig::default()).await;
        let created = rpc(a.addr, "tools/call", json!({"name": "work", "arguments": {"ms": 60_000}})).await;
        let id = created["result"]["taskId"].clone();
        let ack = rpc(b.addr, "tasks/cancel", json!({"taskId": id})).await;
        assert_eq!(ack["result"]["resultType"], "complete", "{ack}");
        until_status(a.addr, &id, "cancelled").await;
        until_status(b.addr, &id, "cancelled").await;

        let created = rpc(a.addr, "tools/call", json!({"name": "ask"})).await;
        let id = created["result"]["taskId"].clone();
        let waiting = until_status(b.addr, &id, "input_required").await;
        let key = waiting["inputRequests"].as_object().unwrap().keys().next().unwrap().clone();
        let answer = json!({"action": "accept", "content": {"name": "Ada"}});
        let ack = rpc(b.addr, "tasks/update", json!({"taskId": id, "inputResponses": {key: answer}})).await;
        assert_eq!(ack["result"]["resultType"], "complete", "{ack}");
        let done = until_status(b.addr, &id, "completed").await;
        assert_eq!(done["result"]["content"][0]["text"], "hello Ada");
        a.stop().await;
        b.stop().await;
    }
}

crate::both_runtimes! {
    /// **A cancel and an update sent to the running server are taken
    /// there.** With a store, `tasks/update` and `tasks/cancel` to the
    /// server that holds the task act on it at once (catches `Tasks::holds`
    /// made `false`: they went through the store as if the task ran
    /// elsewhere, and a store tells every server but the one that asked).
    async fn a_cancel_and_an_update_sent_to_the_running_server_are_taken_there() {
        let store: Arc<dyn TaskStore> = Arc::new(MemoryStore::new());
        let a = replica(Arc::clone(&store), ServerConfig::default()).await;
        let created = rpc(a.addr, "tools/call", json!({"name": "ask"})).await;
        let id = created["result"]["taskId"].clone();
        let waiting = until_status(a.addr, &id, "input_required").await;
        let key = waiting["inputRequests"].as_object().unwrap().keys().next().unwrap().clone();
        let answer = json!({"action": "accept", "content": {"name": "Ada"}});
        rpc(a.addr, "tasks/update", json!({"taskId": id, "inputResponses": {key: answer}})).await;
        let done = until_status(a.addr, &id, "completed").await;
        assert_eq!(done["result"]["content"][0]["text"], "hello Ada");

        let created = rpc(a.addr, "tools/call", json!({"name": "work", "arguments": {"ms": 60_000}})).await;
        let id = created["result"]["taskId"].clone();
        let ack = rpc(a.addr, "tasks/cancel", json!({"taskId": id})).await;
        assert_eq!(ack["result"]["resultType"], "complete", "{ack}");
        let now = rpc(a.addr, "tasks/get", json!({"taskId": id})).await;
        assert_eq!(now["result"]["status"], "cancelled", "at once: {now}");
        a.stop().await;
    }
}

crate::both_runtimes! {
    /// **A task whose server stopped is failed, not unknown.** A runs a
    /// long task with a 300 ms lease and stops; B shows the task working
    /// until the lease lapses, then failed, saying why.
    async fn a_task_whose_server_stopped_is_reported_failed_elsewhere() {
        let store: Arc<dyn TaskStore> = Arc::new(MemoryStore::new());
        let config = ServerConfig::default().task_lease(Duration::from_millis(300));
        let a = replica(Arc::clone(&store), config).await;
        let b = replica(Arc::clone(&store), ServerConfig::default()).await;
        let created = rpc(a.addr, "tools/call", json!({"name": "work", "arguments": {"ms": 60_000}})).await;
        let id = created["result"]["taskId"].clone();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let renewed = rpc(b.addr, "tasks/get", json!({"taskId": id})).await;
        assert_eq!(renewed["result"]["status"], "working", "the lease was renewed: {renewed}");
        a.stop().await;
        let failed = until_status(b.addr, &id, "failed").await;
        let message = failed["error"]["message"].as_str().unwrap();
        assert!(message.contains("the server running it stopped"), "{message}");
        let cancel = rpc(b.addr, "tasks/cancel", json!({"taskId": id})).await;
        assert_eq!(cancel["result"]["resultType"], "complete", "nothing left to cancel: {cancel}");
        b.stop().await;
    }
}

/// A task store that takes nothing.
#[derive(Debug)]
struct Refusing;

impl TaskStore for Refusing {
    fn save_task<'a>(&'a self, _: &'a TaskRecord, _: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async { Err(StoreError("down".into())) })
    }

    fn load_task<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Option<TaskRecord>> {
        Box::pin(async { Err(StoreError("down".into())) })
    }
}

crate::both_runtimes! {
    /// **Nothing unsaved is acknowledged.** With a store that takes
    /// nothing, a call that would become a task is answered with a
    /// retryable error and its work stopped; `tasks/get` for a task held
    /// nowhere fails the same way; both counted.
    async fn a_task_the_store_cannot_take_is_not_started() {
        let stopped = Arc::new(AtomicBool::new(false));
        let watched = {
            let stopped = Arc::clone(&stopped);
            Tool::new("watched", "waits until stopped", json!({"type": "object"}), move |_, ctx| {
                let stopped = Arc::clone(&stopped);
                async move {
                    ctx.cancelled().await;
                    stopped.store(true, Ordering::SeqCst);
                    Ok(ToolOutput::text("stopped"))
                }
            })
            .task_support(TaskSupport::Optional)
        };
        let server = Server::builder().tool(work()).tool(watched).task_store(Arc::new(Refusing)).build();
        let server = TestServer::serve(server, true).await;
        let refused = rpc(server.addr, "tools/call", json!({"name": "watched"})).await;
        assert_eq!(error_code(&refused), -32603, "{refused}");
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(message.contains("down; send the request again"), "{message}");
        wait_until("the unsaved task's work to stop", || stopped.load(Ordering::SeqCst)).await;
        let get = rpc(server.addr, "tasks/get", json!({"taskId": "elsewhere-1"})).await;
        assert_eq!(error_code(&get), -32603, "{get}");
        assert_eq!(server.handle.metrics().store_failures, 2);
        server.stop().await;
    }
}
