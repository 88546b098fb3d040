//! `tools/call` over a real socket: results, progress, cancellation by the
//! client, by disconnecting and by timeout, and a panicking handler.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mcp_server_core::{ServerConfig, Tool, ToolOutput};
use serde_json::json;
use support::{TestServer, error_code, patient};

fn panicking() -> Tool {
    Tool::new("panic", "panics", json!({"type": "object"}), |_, _| async move {
        if true {
            panic!("this tool always panics");
        }
        Ok(ToolOutput::text("unreachable"))
    })
}

#[tokio::test]
async fn echo_and_progress() {
    let server = TestServer::start(ServerConfig::default(), vec![]).await;
    let mut client = server.client().await;
    client.initialize().await;
    let echoed = client.call(1, "echo", json!({"text": "hi"})).await;
    assert_eq!(
        echoed["result"],
        json!({"content": [{"type": "text", "text": "hi"}], "isError": false})
    );

    let slept = client
        .request(
            2,
            "tools/call",
            json!({"name": "sleep", "arguments": {"ms": 20}, "_meta": {"progressToken": "tok"}}),
        )
        .await;
    assert_eq!(slept["result"]["content"][0]["text"], "slept 20 ms");
    let progress: Vec<_> = client
        .notifications
        .iter()
        .filter(|n| n["method"] == "notifications/progress")
        .collect();
    assert_eq!(progress.len(), 10);
    assert!(progress.iter().all(|n| n["params"]["progressToken"] == "tok"));
    assert_eq!(progress.last().unwrap()["params"]["progress"], 10.0);
    // Calls that ended normally (one answered inline, one from its own
    // task) are not counted as cancelled; none is left in flight.
    // (cargo-mutants left a gauge that counted them as cancelled alive.)
    let m = server.handle.metrics();
    assert_eq!((m.requests_cancelled, m.requests_in_flight), (0, 0));
    server.stop().await;
}

#[tokio::test]
async fn notifications_cancelled_stops_the_handler_and_no_response_is_sent() {
    let seen = Arc::new(AtomicUsize::new(0));
    let server = TestServer::start(ServerConfig::default(), vec![patient(Arc::clone(&seen))]).await;
    let mut client = server.client().await;
    client.initialize().await;
    client
        .send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "patient"}}))
        .await;
    server
        .wait_for("the call to start", |h| h.metrics().requests_in_flight == 1)
        .await;
    client
        .notify(
            "notifications/cancelled",
            json!({"requestId": 1, "reason": "test"}),
        )
        .await;
    server
        .wait_for("the handler to stop", |h| h.metrics().requests_in_flight == 0)
        .await;
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    assert_eq!(server.handle.metrics().requests_cancelled, 1);
    // The next response on the wire is the ping's: the cancelled request got none.
    let pong = client.request(2, "ping", json!({})).await;
    assert_eq!(pong["id"], 2);
    assert!(client.notifications.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn a_disconnect_cancels_the_clients_requests_and_removes_the_session() {
    let seen = Arc::new(AtomicUsize::new(0));
    let server = TestServer::start(ServerConfig::default(), vec![patient(Arc::clone(&seen))]).await;
    let mut client = server.client().await;
    client.initialize().await;
    for id in 1..=3 {
        client
            .send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "patient"}}))
            .await;
    }
    server
        .wait_for("the calls to start", |h| h.metrics().requests_in_flight == 3)
        .await;
    drop(client);
    server
        .wait_for("the session to go", |h| h.sessions().is_empty())
        .await;
    server
        .wait_for("the handlers to stop", |h| h.metrics().requests_in_flight == 0)
        .await;
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    assert_eq!(server.handle.metrics().requests_cancelled, 3);
    assert_eq!(
        server.handle.available_permits(),
        ServerConfig::default().max_sessions
    );
    server.stop().await;
}

/// Paused time: the 10-minute sleep and the 5-second timeout pass instantly.
#[tokio::test(start_paused = true)]
async fn a_request_past_its_timeout_is_cancelled_and_answered_with_an_error() {
    let config = ServerConfig::default().request_timeout(Duration::from_secs(5));
    let server = TestServer::start(config, vec![]).await;
    let mut client = server.client().await;
    client.initialize().await;
    let started = tokio::time::Instant::now();
    let timed_out = client.call(1, "sleep", json!({"ms": 600_000})).await;
    assert_eq!(error_code(&timed_out), -32001);
    assert!(
        timed_out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("timed out after 5000 ms")
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(5) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    assert_eq!(server.handle.metrics().requests_timed_out, 1);
    let quick = client.call(2, "echo", json!({"text": "next"})).await;
    assert_eq!(quick["result"]["content"][0]["text"], "next");
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_tool_gets_internal_error_and_everything_goes_on() {
    let server = TestServer::start(ServerConfig::default(), vec![panicking()]).await;
    let mut client = server.client().await;
    client.initialize().await;
    let failed = client.call(1, "panic", json!({})).await;
    assert_eq!(error_code(&failed), -32603);
    let echoed = client.call(2, "echo", json!({"text": "alive"})).await;
    assert_eq!(echoed["result"]["content"][0]["text"], "alive");
    let mut other = server.client().await;
    other.initialize().await;
    assert_eq!(server.handle.metrics().requests_panicked, 1);
    assert_eq!(server.handle.sessions().len(), 2);
    server.stop().await;
}

/// Sets a flag when dropped: shows that a handler's future was dropped.
struct DropFlag(Arc<AtomicUsize>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A handler that never looks at its token is still stopped: its future is
/// dropped when the request is cancelled, and no response is sent.
#[tokio::test]
async fn a_handler_that_ignores_cancellation_is_dropped() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let flag = Arc::clone(&dropped);
    let stubborn = Tool::new(
        "stubborn",
        "ignores its token",
        json!({"type": "object"}),
        move |_, _ctx| {
            let guard = DropFlag(Arc::clone(&flag));
            async move {
                tokio::time::sleep(std::time::Duration::from_secs(600)).await;
                drop(guard);
                Ok(ToolOutput::text("too late"))
            }
        },
    );
    let server = TestServer::start(ServerConfig::default(), vec![stubborn]).await;
    let mut client = server.client().await;
    client.initialize().await;
    client
        .send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "stubborn"}}))
        .await;
    server
        .wait_for("the call to start", |h| h.metrics().requests_in_flight == 1)
        .await;
    client
        .notify("notifications/cancelled", json!({"requestId": 1}))
        .await;
    server
        .wait_for("the call to stop", |h| h.metrics().requests_in_flight == 0)
        .await;
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the handler's future was dropped"
    );
    assert_eq!(server.handle.metrics().requests_cancelled, 1);
    assert_eq!(client.request(2, "ping", json!({})).await["id"], 2);
    assert!(client.notifications.is_empty());
    server.stop().await;
}

/// What a handler reads from its context is true: `wants_progress` says
/// whether the client sent a `progressToken`, `is_cancelled` and the
/// cancellation token turn true when the request is cancelled, and
/// `ToolOutput::is_error` tells results from errors. (Accessors that
/// cargo-mutants could make lie without any test noticing.)
#[tokio::test]
async fn a_handlers_context_tells_the_truth() {
    assert!(ToolOutput::error("no").is_error());
    assert!(!ToolOutput::text("yes").is_error());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let watcher = Tool::new(
        "watcher",
        "reports its context",
        json!({"type": "object"}),
        move |_, ctx| {
            let record = Arc::clone(&record);
            async move {
                let before = (
                    ctx.wants_progress(),
                    ctx.is_cancelled(),
                    ctx.cancellation_token().is_cancelled(),
                );
                ctx.cancelled().await;
                let after = (ctx.is_cancelled(), ctx.cancellation_token().is_cancelled());
                record.lock().unwrap().push((before, after));
                Ok(ToolOutput::text("done"))
            }
        },
    );
    let server = TestServer::start(ServerConfig::default(), vec![watcher]).await;
    let mut client = server.client().await;
    client.initialize().await;
    for (id, meta) in [(1, json!({})), (2, json!({"progressToken": "p"}))] {
        client
            .send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                          "params": {"name": "watcher", "arguments": {}, "_meta": meta}}))
            .await;
        server
            .wait_for("the call to start", |h| h.metrics().requests_in_flight == 1)
            .await;
        client
            .notify("notifications/cancelled", json!({"requestId": id}))
            .await;
        server
            .wait_for("the call to end", |h| h.metrics().requests_in_flight == 0)
            .await;
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            ((false, false, false), (true, true)),
            ((true, false, false), (true, true))
        ]
    );
    server.stop().await;
}

/// **An answer written at once keeps its place and counts as sent.** Over
/// TCP the answer to a call that finishes without waiting is written by the
/// session loop straight away, not queued, but only when nothing is queued
/// ahead of it: a notification its tool sent first still arrives first.
/// Every answer, written straight or queued, counts in `messages_sent`.
#[tokio::test]
async fn an_answer_written_at_once_keeps_its_place_and_counts_as_sent() {
    let notify_first = Tool::new(
        "notify_first",
        "",
        json!({"type": "object"}),
        |_, ctx| async move {
            ctx.notify("notifications/test", Some(json!({"n": 1})))
                .expect("room in the outbox");
            Ok(ToolOutput::text("after"))
        },
    );
    let server = TestServer::start(ServerConfig::default(), vec![notify_first]).await;
    let mut client = server.client().await;
    client.initialize().await;
    let sent_before = server.handle.metrics().messages_sent;
    for id in 1..=3 {
        client
            .send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": "notify_first"}}))
            .await;
        let first = client.recv().await.expect("a message");
        assert_eq!(
            first["method"], "notifications/test",
            "the notification first: {first}"
        );
        let second = client.recv().await.expect("a message");
        assert_eq!(second["id"], id);
        assert_eq!(second["result"]["content"][0]["text"], "after");
    }
    for id in 4..14 {
        let echoed = client.call(id, "echo", json!({"text": "x"})).await;
        assert_eq!(echoed["result"]["content"][0]["text"], "x");
    }
    let m = server.handle.metrics();
    assert_eq!(m.messages_sent - sent_before, 3 * 2 + 10);
    assert_eq!(m.messages_dropped, 0);
    server.stop().await;
}

/// **Answers to lines read together go out together, and never wait for
/// a line still being sent.** Three calls in one write, the third cut in
/// the middle: the first two are answered, in order, while the rest of the
/// third has not come (the server holds answers only while it has a whole
/// line left to read); then the third once its line is complete. A call
/// followed by a blank line is answered too (the blank line is skipped and
/// nothing more comes).
#[tokio::test]
async fn answers_go_out_while_a_line_is_still_incomplete() {
    let server = TestServer::start(ServerConfig::default(), vec![]).await;
    let mut client = server.client().await;
    client.initialize().await;
    let call = |id: u64| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": format!("t{id}")}}})
        .to_string()
    };
    let third = call(3);
    let (head, tail) = third.split_at(third.len() / 2);
    client
        .write_bytes(format!("{}\n{}\n{head}", call(1), call(2)).as_bytes())
        .await;
    for id in [1, 2] {
        let answer = client.recv().await.expect("an answer");
        assert_eq!(answer["id"], id);
        assert_eq!(answer["result"]["content"][0]["text"], format!("t{id}"));
    }
    client.write_bytes(format!("{tail}\n").as_bytes()).await;
    let answer = client.recv().await.expect("an answer");
    assert_eq!(answer["id"], 3);
    client.write_bytes(format!("{}\n \n", call(4)).as_bytes()).await;
    let answer = client.recv().await.expect("an answer");
    assert_eq!(answer["id"], 4);
    let m = server.handle.metrics();
    assert_eq!(m.messages_dropped, 0);
    server.stop().await;
}
