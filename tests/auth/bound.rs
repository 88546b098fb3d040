//! What outlives one request belongs to the caller that made it: a 2025
//! session, a 2026-07-28 `requestState`, a task. Another caller with a
//! valid token of its own learns nothing of them: an unknown session
//! (404), a refused state (-32602), an unknown task.

use std::net::SocketAddr;

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::issuer::{self, Issuer, SigningKey};
use super::support::http::{Open, post, send};
use super::support::wire::read;
use super::{Protected, challenge};

const TASKS: &str = "io.modelcontextprotocol/tasks";

/// A token of `subject` (through client `client`) with `scope`.
fn token_of(
    server: &Protected,
    issuer: &Issuer,
    key: &SigningKey,
    subject: &str,
    client: &str,
    scope: &str,
) -> String {
    let mut claims = server.claims(issuer, scope);
    claims["sub"] = json!(subject);
    claims["client_id"] = json!(client);
    issuer::token(key, &claims)
}

/// Opens a 2025 session with `token`; its id.
async fn initialize(server: &Protected, token: &str) -> String {
    let bearer = format!("Bearer {token}");
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    let open = post(server.addr, &[("authorization", &bearer)], &init).await;
    assert_eq!(open.status, StatusCode::OK, "{}", challenge(&open));
    open.headers["mcp-session-id"].to_str().unwrap().to_owned()
}

/// A POST of `body` in session `sid` with `token`.
async fn in_session(addr: SocketAddr, sid: &str, token: &str, body: &Value) -> Open {
    let bearer = format!("Bearer {token}");
    let headers = [
        ("authorization", bearer.as_str()),
        ("mcp-session-id", sid),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    post(addr, &headers, body).await
}

#[tokio::test]
async fn a_session_serves_only_the_caller_that_opened_it() {
    let issuer = Issuer::start(vec![issuer::key("ec", "k1")]).await;
    let server = Protected::start(&issuer, |b| b).await;
    let key = issuer.key();
    let alice = token_of(&server, &issuer, &key, "alice", "app", "mcp");
    let bob = token_of(&server, &issuer, &key, "bob", "app", "mcp");
    let alice_elsewhere = token_of(&server, &issuer, &key, "alice", "other-app", "mcp");
    let sid = initialize(&server, &alice).await;
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(
        in_session(server.addr, &sid, &alice, &note).await.status,
        StatusCode::ACCEPTED
    );
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    for stranger in [&bob, &alice_elsewhere] {
        assert_eq!(
            in_session(server.addr, &sid, stranger, &list).await.status,
            StatusCode::NOT_FOUND
        );
        let bearer = format!("Bearer {stranger}");
        let get = [
            ("authorization", bearer.as_str()),
            ("mcp-session-id", &sid),
            ("accept", "text/event-stream"),
        ];
        assert_eq!(
            send(server.addr, Method::GET, &get, "").await.status,
            StatusCode::NOT_FOUND
        );
        let delete = [("authorization", bearer.as_str()), ("mcp-session-id", &sid)];
        assert_eq!(
            send(server.addr, Method::DELETE, &delete, "").await.status,
            StatusCode::NOT_FOUND
        );
    }
    // Still alice's, and alive.
    let open = in_session(server.addr, &sid, &alice, &list).await;
    assert_eq!(open.status, StatusCode::OK);
    assert!(read(open).await.0["result"]["tools"].is_array());
    // A call her token lacks the scope for: refused from the body, with its id.
    let danger = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "danger", "arguments": {}}});
    let open = in_session(server.addr, &sid, &alice, &danger).await;
    assert_eq!(open.status, StatusCode::FORBIDDEN);
    assert!(
        challenge(&open).contains("error=\"insufficient_scope\", "),
        "{}",
        challenge(&open)
    );
    assert!(
        challenge(&open).contains("scope=\"mcp admin\""),
        "{}",
        challenge(&open)
    );
    assert_eq!(open.json().await["id"], 7);
    let bearer = format!("Bearer {alice}");
    let delete = [("authorization", bearer.as_str()), ("mcp-session-id", &sid)];
    assert_eq!(
        send(server.addr, Method::DELETE, &delete, "").await.status,
        StatusCode::OK
    );
    server.stop().await;
}

/// A stateless `tools/call` of `tool` with `extra` params, by `token`; the
/// answer.
async fn call(server: &Protected, token: &str, tool: &str, extra: Value, caps: Value) -> Value {
    let mut params =
        json!({"name": tool, "arguments": {}, "_meta": {"io.modelcontextprotocol/clientCapabilities": caps}});
    params
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let open = server.call_params("tools/call", Some(tool), params, token).await;
    assert_eq!(open.status, StatusCode::OK, "{}", challenge(&open));
    read(open).await.0
}

#[tokio::test]
async fn a_request_state_is_sealed_for_its_caller() {
    let issuer = Issuer::start(vec![issuer::key("ec", "k1")]).await;
    let server = Protected::start(&issuer, |b| b).await;
    let key = issuer.key();
    let alice = token_of(&server, &issuer, &key, "alice", "app", "mcp");
    let bob = token_of(&server, &issuer, &key, "bob", "app", "mcp");
    let caps = json!({"elicitation": {}});
    let first = call(&server, &alice, "ask", json!({}), caps.clone()).await;
    assert_eq!(first["result"]["resultType"], "input_required", "{first}");
    let retry = json!({"requestState": first["result"]["requestState"],
                       "inputResponses": {"input-1": {"action": "accept", "content": {"name": "Ada"}}}});
    let stolen = call(&server, &bob, "ask", retry.clone(), caps.clone()).await;
    assert_eq!(stolen["error"]["code"], -32602, "{stolen}");
    let own = call(&server, &alice, "ask", retry, caps).await;
    assert_eq!(own["result"]["content"][0]["text"], "Ada", "{own}");
    server.stop().await;
}

#[tokio::test]
async fn a_task_answers_only_its_caller() {
    let issuer = Issuer::start(vec![issuer::key("ec", "k1")]).await;
    let server = Protected::start(&issuer, |b| b).await;
    let key = issuer.key();
    let alice = token_of(&server, &issuer, &key, "alice", "app", "mcp");
    let bob = token_of(&server, &issuer, &key, "bob", "app", "mcp");
    let caps = json!({"extensions": {TASKS: {}}});
    let started = call(&server, &alice, "slow", json!({}), caps.clone()).await;
    let task = started["result"]["taskId"].as_str().expect("a task").to_owned();
    let tasks = |method: &'static str, token: String| {
        let (server, task, caps) = (&server, task.clone(), caps.clone());
        async move {
            let params = json!({"taskId": task, "inputResponses": {}, "_meta": {"io.modelcontextprotocol/clientCapabilities": caps}});
            let open = server.call_params(method, Some(&task), params, &token).await;
            read(open).await.0
        }
    };
    for method in ["tasks/get", "tasks/update", "tasks/cancel"] {
        let answer = tasks(method, bob.clone()).await;
        assert_eq!(answer["error"]["code"], -32602, "{method} by bob: {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("unknown task"),
            "{answer}"
        );
    }
    let own = tasks("tasks/get", alice.clone()).await;
    assert_eq!(
        own["result"]["status"], "working",
        "bob's cancel did nothing: {own}"
    );
    let cancelled = tasks("tasks/cancel", alice.clone()).await;
    assert!(cancelled["result"].is_object(), "{cancelled}");
    server.stop().await;
}

#[tokio::test]
async fn one_caller_cannot_hold_the_whole_table() {
    let issuer = Issuer::start(vec![issuer::key("ec", "k1")]).await;
    let server = Protected::start_with(&issuer, |b| b, |http| http.max_sessions_per_principal(2)).await;
    let key = issuer.key();
    let alice = token_of(&server, &issuer, &key, "alice", "app", "mcp");
    let bob = token_of(&server, &issuer, &key, "bob", "app", "mcp");
    let bobs = initialize(&server, &bob).await;
    let first = initialize(&server, &alice).await;
    let second = initialize(&server, &alice).await;
    // At her quota, her own least recent idle session makes room.
    let third = initialize(&server, &alice).await;
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    assert_eq!(
        in_session(server.addr, &first, &alice, &list).await.status,
        StatusCode::NOT_FOUND
    );
    for (sid, token) in [(&second, &alice), (&third, &alice), (&bobs, &bob)] {
        assert_eq!(
            in_session(server.addr, sid, token, &list).await.status,
            StatusCode::OK
        );
    }
    // With both of hers busy (a call running), a third is refused, 429.
    let slow = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                      "params": {"name": "slow", "arguments": {}, "_meta": {"progressToken": 1}}});
    let running: Vec<_> = [second.clone(), third.clone()]
        .into_iter()
        .map(|sid| {
            let (addr, token, slow) = (server.addr, alice.clone(), slow.clone());
            tokio::spawn(async move { in_session(addr, &sid, &token, &slow).await.status })
        })
        .collect();
    let handle = server.handle.clone();
    super::support::wait_until("both calls run", || handle.metrics().requests_in_flight == 2).await;
    let bearer = format!("Bearer {alice}");
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    let refused = post(server.addr, &[("authorization", &bearer)], &init).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let refused = refused.json().await;
    assert_eq!(
        refused["error"]["data"]["maxSessionsPerPrincipal"], 2,
        "{refused}"
    );
    // Bob is not affected.
    initialize(&server, &bob).await;
    running.iter().for_each(tokio::task::JoinHandle::abort);
    server.stop().await;
}

#[tokio::test]
async fn a_listen_stream_hears_only_of_its_own_callers_tasks() {
    let issuer = Issuer::start(vec![issuer::key("ec", "k1")]).await;
    let server = Protected::start(&issuer, |b| b).await;
    let key = issuer.key();
    let alice = token_of(&server, &issuer, &key, "alice", "app", "mcp");
    let bob = token_of(&server, &issuer, &key, "bob", "app", "mcp");
    let caps = json!({"extensions": {TASKS: {}}});
    let started = call(&server, &alice, "slow", json!({}), caps.clone()).await;
    let task = started["result"]["taskId"].as_str().expect("a task").to_owned();
    let listen = |token: String| {
        let params = json!({"notifications": {"taskIds": [task]},
                            "_meta": {"io.modelcontextprotocol/clientCapabilities": caps}});
        let server = &server;
        async move {
            server
                .call_params("subscriptions/listen", None, params, &token)
                .await
        }
    };
    let (mut hers, mut his) = (listen(alice.clone()).await, listen(bob.clone()).await);
    for stream in [&mut hers, &mut his] {
        let ack = stream.message().await.expect("the acknowledgement");
        // Both are told the task they named, whoever holds it.
        assert_eq!(ack["params"]["notifications"]["taskIds"], json!([task]), "{ack}");
    }
    let params = json!({"taskId": task, "_meta": {"io.modelcontextprotocol/clientCapabilities": caps}});
    let cancelled = server
        .call_params("tasks/cancel", Some(&task), params, &alice)
        .await;
    assert!(read(cancelled).await.0["result"].is_object());
    let note = hers.message().await.expect("her task's status");
    assert_eq!(
        (note["method"].as_str(), note["params"]["status"].as_str()),
        (Some("notifications/tasks"), Some("cancelled"))
    );
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(500), his.message()).await;
    assert!(quiet.is_err(), "bob heard of alice's task: {quiet:?}");
    server.stop().await;
}
