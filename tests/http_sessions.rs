//! Streamable HTTP with 2025 sessions over real sockets: the lifecycle,
//! JSON and SSE answers, the standalone stream, every status code, expiry,
//! the same id twice, a client dropping its stream, DELETE racing a
//! request, and shutdown with streams open.

#![cfg(not(any(loom, shuttle)))]

#[path = "http_sessions/backpressure.rs"]
mod backpressure;
#[path = "http_sessions/eviction.rs"]
mod eviction;
#[path = "http_sessions/refusals.rs"]
mod refusals;
#[path = "http_sessions/streams.rs"]
mod streams;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::{Method, StatusCode};
use mcp_server_core::config::HttpConfig;
use mcp_server_core::{Notification, ServerConfig, Tool, ToolOutput};
use serde_json::{Value, json};
use support::http::{self as client, Session};
use support::{HANG, TestServer, patient, wait_until};

/// A tool that reports progress once, then waits for its cancellation.
fn reports_then_waits() -> Tool {
    Tool::new(
        "reports_then_waits",
        "progress, then waits",
        json!({"type": "object"}),
        |_, ctx| async move {
            ctx.progress(1.0, None, None).ok();
            ctx.cancelled().await;
            Ok(ToolOutput::text("cancelled"))
        },
    )
}

fn call(id: u64, tool: &str, args: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}})
}

crate::both_runtimes! {
    async fn a_session_from_initialize_to_delete() {
        let server = TestServer::start_http(ServerConfig::default(), vec![]).await;
        let session = Session::start(server.addr).await;
        assert_eq!(session.id.len(), 32, "128 random bits as hex");
        assert!(session.id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(server.handle.sessions().len(), 1);

        let echoed = session
            .request(
                1,
                "tools/call",
                json!({"name": "echo", "arguments": {"text": "hi"}}),
            )
            .await;
        assert_eq!(echoed["result"]["content"][0]["text"], "hi");
        // A JSON answer goes out with its length, not chunked.
        let json = session.post(&call(9, "echo", json!({"text": "sized"}))).await;
        assert_eq!(json.headers["content-type"], "application/json");
        assert!(!json.headers.contains_key("transfer-encoding"), "{:?}", json.headers);
        let length: usize = json.headers["content-length"].to_str().unwrap().parse().unwrap();
        assert_eq!(length, json.bytes().await.len());
        let listed = session.request(2, "tools/list", json!({})).await;
        assert_eq!(listed["result"]["tools"].as_array().unwrap().len(), 4);

        assert_eq!(session.delete().await, StatusCode::OK);
        wait_until("the session to end", || server.handle.sessions().is_empty()).await;
        let after = session
            .post(&json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}))
            .await;
        assert_eq!(after.status, StatusCode::NOT_FOUND);
        assert_eq!(session.delete().await, StatusCode::NOT_FOUND);
        let report = server.stop().await;
        assert_eq!(report.sessions_closed, 1);
    }
}

crate::both_runtimes! {
    /// A request that sends notifications first is answered with an SSE stream:
    /// a priming event (id, retry, empty data), the progress notifications, then
    /// the answer, with event ids unique in the session and naming the stream.
    async fn progress_comes_as_an_sse_stream_with_a_priming_event() {
        let server = TestServer::start_http(ServerConfig::default(), vec![]).await;
        let session = Session::start(server.addr).await;
        let mut ids = Vec::new();
        for id in [1, 2] {
            let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
                "name": "sleep", "arguments": {"ms": 20}, "_meta": {"progressToken": "p"}}});
            let mut stream = session.post(&body).await;
            assert_eq!(stream.status, StatusCode::OK);
            assert_eq!(stream.headers["content-type"], "text/event-stream");
            let (priming_id, data) = stream.event().await.expect("a priming event");
            assert_eq!(data, "", "the priming event has empty data");
            ids.push(priming_id.expect("the priming event has an id"));
            let mut progress = 0;
            let answer = loop {
                let (id, data) = stream.event().await.expect("the stream ends after the answer");
                ids.push(id.expect("every event has an id"));
                let message: Value = serde_json::from_str(&data).unwrap();
                if message.get("method").is_some() {
                    assert_eq!(message["method"], "notifications/progress");
                    progress += 1;
                } else {
                    break message;
                }
            };
            assert!(progress > 0);
            assert_eq!(answer["id"], id);
            assert!(stream.event().await.is_none(), "the stream ends after its answer");
        }
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "event ids are unique in the session: {ids:?}"
        );
        let streams: std::collections::HashSet<_> = ids.iter().map(|id| id.split('-').next().unwrap()).collect();
        assert_eq!(
            streams.len(),
            2,
            "each request's events name its own stream: {ids:?}"
        );
        server.stop().await;
    }
}

crate::both_runtimes! {
    /// `broadcast` and `notify_client` reach the session's standalone (GET)
    /// stream; a second GET while it is open gets 409.
    async fn the_standalone_stream_carries_what_belongs_to_no_request() {
        let server = TestServer::start_http(ServerConfig::default(), vec![]).await;
        let session = Session::start(server.addr).await;
        let mut stream = session.listen().await;
        assert_eq!(stream.status, StatusCode::OK);
        assert_eq!(stream.event().await.expect("priming").1, "");
        assert_eq!(session.listen().await.status, StatusCode::CONFLICT);

        server
            .handle
            .broadcast(&Notification::new("notifications/tools/list_changed", None));
        let id = server.handle.sessions()[0].id;
        server
            .handle
            .notify_client(id, &Notification::log("info", None, json!("just you")))
            .unwrap();
        let first = stream.message().await.expect("the broadcast");
        assert_eq!(first["method"], "notifications/tools/list_changed");
        let second = stream.message().await.expect("the notification");
        assert_eq!(second["params"]["data"], "just you");
        // Closing the stream gives the outbox back: a new GET may open.
        drop(stream);
        wait_until_reopened(&session).await;
        server.stop().await;
    }
}

async fn wait_until_reopened(session: &Session) {
    let deadline = tokio::time::Instant::now() + HANG;
    loop {
        let again = session.listen().await;
        if again.status == StatusCode::OK {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the standalone stream never reopened"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// What a request that must be refused sends, and what it must get: its
/// name, method, headers and body, then the status and the JSON-RPC code.
type Refusal<'a> = (
    &'a str,
    Method,
    Vec<(&'a str, &'a str)>,
    String,
    StatusCode,
    Option<i64>,
);
