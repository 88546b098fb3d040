//! What the tests of servers sharing a session store use: tools that show
//! a session's state across servers (its log level, a question to the
//! client), and a session's requests sent to another server.

use std::net::SocketAddr;
use std::sync::Arc;

use http::StatusCode;
use mcp_server_core::{Tool, ToolOutput};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::http::{self as client, Session};

/// `log_info`: logs at `info`; says whether the session's level let it.
pub fn log_info() -> Tool {
    Tool::new(
        "log_info",
        "logs at info",
        json!({"type": "object"}),
        |_, ctx| async move {
            let sent = ctx.log("info", None, json!("hello")).expect("the stream is open");
            Ok(ToolOutput::text(format!("sent: {sent}")))
        },
    )
}

/// `ask`: asks the client to confirm (elicitation) and returns its answer.
pub fn ask() -> Tool {
    Tool::new(
        "ask",
        "asks the client",
        json!({"type": "object"}),
        |_, ctx| async move {
            let schema = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}});
            let answer = ctx.elicit("Proceed?", schema).await?;
            Ok(ToolOutput::text(answer.to_string()))
        },
    )
}

/// `pause`: reports progress 1, closes its stream (for the client to poll),
/// then takes a permit of `go` before progress 2 and another before its
/// answer, `done`.
pub fn pause(go: Arc<Semaphore>) -> Tool {
    Tool::new(
        "pause",
        "closes its stream",
        json!({"type": "object"}),
        move |_, ctx| {
            let go = Arc::clone(&go);
            async move {
                ctx.progress(1.0, None, None).ok();
                assert!(ctx.close_stream(), "the stream can be resumed");
                go.acquire().await.expect("never closed").forget();
                ctx.progress(2.0, None, None).ok();
                go.acquire().await.expect("never closed").forget();
                Ok(ToolOutput::text("done"))
            }
        },
    )
}

/// A call of `pause` with a progress token.
pub fn paused_call(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "pause", "arguments": {}, "_meta": {"progressToken": "p"}}})
}

/// The same session, its requests sent to `addr`.
pub fn at(session: &Session, addr: SocketAddr) -> Session {
    Session {
        addr,
        id: session.id.clone(),
    }
}

/// A call of tool `tool` with no arguments.
pub fn call(id: u64, tool: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": {}}})
}

/// A call of the built-in `echo`.
pub fn echo(id: u64, text: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "echo", "arguments": {"text": text}}})
}

/// Calls `tool` in `session`: its result, read from the JSON answer or
/// from the SSE stream (which carries the tool's log first).
pub async fn call_tool(session: &Session, id: u64, tool: &str) -> Value {
    let mut answer = session.post(&call(id, tool)).await;
    assert_eq!(answer.status, StatusCode::OK);
    if answer.headers["content-type"] != "text/event-stream" {
        return answer.json().await;
    }
    loop {
        let message = answer.message().await.expect("the call's result");
        if message["id"] == id {
            return message;
        }
    }
}

/// The text of a tool result.
pub fn text(answer: &Value) -> &str {
    answer["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
}

/// Opens a session on `addr` whose client can answer elicitations.
pub async fn eliciting_session(addr: SocketAddr) -> Session {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}},
        "clientInfo": {"name": "test", "version": "0"}}});
    let opened = client::post(addr, &[], &init).await;
    assert_eq!(opened.status, StatusCode::OK);
    let id = opened.headers["mcp-session-id"].to_str().unwrap().to_owned();
    let session = Session { addr, id };
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(session.post(&note).await.status, StatusCode::ACCEPTED);
    session
}

/// Runs `ask` on `session`'s server and answers its question through
/// `answer_at`; the call's result.
pub async fn ask_answered_elsewhere(session: &Session, answer_at: SocketAddr) -> Value {
    let mut stream = session.post(&call(1, "ask")).await;
    let asked = stream.message().await.expect("the elicitation request");
    assert_eq!(asked["method"], "elicitation/create");
    let answer =
        json!({"jsonrpc": "2.0", "id": asked["id"], "result": {"action": "accept", "content": {"ok": true}}});
    assert_eq!(
        at(session, answer_at).post(&answer).await.status,
        StatusCode::ACCEPTED
    );
    stream.message().await.expect("the call's result")
}

/// Calls `log_info` on `session` until its log is no longer sent (the
/// session's level changed elsewhere); panics after `HANG`.
pub async fn until_info_is_silenced(session: &Session) {
    let deadline = tokio::time::Instant::now() + super::HANG;
    for id in 100.. {
        if text(&call_tool(session, id, "log_info").await) == "sent: false" {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new level never arrived"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
