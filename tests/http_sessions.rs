//! Streamable HTTP with 2025 sessions over real sockets: the lifecycle,
//! JSON and SSE answers, the standalone stream, every status code, expiry,
//! the same id twice, a client dropping its stream, DELETE racing a
//! request, and shutdown with streams open.

#![cfg(not(any(loom, shuttle)))]

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

#[tokio::test]
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

/// A request that sends notifications first is answered with an SSE stream:
/// a priming event (id, retry, empty data), the progress notifications, then
/// the answer, with event ids unique in the session and naming the stream.
#[tokio::test]
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

/// `broadcast` and `notify_client` reach the session's standalone (GET)
/// stream; a second GET while it is open gets 409.
#[tokio::test]
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

#[tokio::test]
async fn every_refusal_has_its_status_and_a_json_rpc_body() {
    let config = ServerConfig::default().http(HttpConfig::default().max_body_bytes(2048));
    let server = TestServer::start_http(config, vec![]).await;
    let addr = server.addr;
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}).to_string();
    let cases: Vec<Refusal> = vec![
        (
            "Accept without SSE",
            Method::POST,
            vec![
                ("accept", "application/json"),
                ("content-type", "application/json"),
            ],
            ping.clone(),
            StatusCode::NOT_ACCEPTABLE,
            Some(-32600),
        ),
        (
            "a body that is not JSON by type",
            Method::POST,
            vec![("accept", client::ACCEPT_BOTH), ("content-type", "text/plain")],
            ping.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some(-32600),
        ),
        (
            "a body over the limit",
            Method::POST,
            vec![
                ("accept", client::ACCEPT_BOTH),
                ("content-type", "application/json"),
            ],
            " ".repeat(4096),
            StatusCode::PAYLOAD_TOO_LARGE,
            Some(-32600),
        ),
        (
            "invalid JSON",
            Method::POST,
            vec![
                ("accept", client::ACCEPT_BOTH),
                ("content-type", "application/json"),
            ],
            "{nope".into(),
            StatusCode::BAD_REQUEST,
            Some(-32700),
        ),
        (
            "JSON that is not JSON-RPC",
            Method::POST,
            vec![
                ("accept", client::ACCEPT_BOTH),
                ("content-type", "application/json"),
            ],
            "[1, 2]".into(),
            StatusCode::BAD_REQUEST,
            Some(-32600),
        ),
        (
            "no session id",
            Method::POST,
            vec![
                ("accept", client::ACCEPT_BOTH),
                ("content-type", "application/json"),
            ],
            ping.clone(),
            StatusCode::BAD_REQUEST,
            Some(-32600),
        ),
        (
            "an unknown session id",
            Method::POST,
            vec![
                ("accept", client::ACCEPT_BOTH),
                ("content-type", "application/json"),
                ("mcp-session-id", "00"),
            ],
            ping.clone(),
            StatusCode::NOT_FOUND,
            Some(-32600),
        ),
        (
            "a Host not allowed",
            Method::POST,
            vec![
                ("accept", client::ACCEPT_BOTH),
                ("content-type", "application/json"),
                ("host", "evil.example.com"),
            ],
            ping.clone(),
            StatusCode::FORBIDDEN,
            Some(-32600),
        ),
        (
            "an Origin not allowed",
            Method::POST,
            vec![
                ("accept", client::ACCEPT_BOTH),
                ("content-type", "application/json"),
                ("origin", "http://evil.example.com"),
            ],
            ping.clone(),
            StatusCode::FORBIDDEN,
            Some(-32600),
        ),
        (
            "GET without a session",
            Method::GET,
            vec![("accept", "text/event-stream")],
            String::new(),
            StatusCode::METHOD_NOT_ALLOWED,
            Some(-32600),
        ),
        (
            "DELETE without a session",
            Method::DELETE,
            vec![],
            String::new(),
            StatusCode::METHOD_NOT_ALLOWED,
            Some(-32600),
        ),
        (
            "PUT",
            Method::PUT,
            vec![],
            String::new(),
            StatusCode::METHOD_NOT_ALLOWED,
            Some(-32600),
        ),
    ];
    for (what, method, headers, body, status, code) in cases {
        let response = client::send(addr, method, &headers, &body).await;
        assert_eq!(response.status, status, "{what}");
        assert_eq!(response.headers["content-type"], "application/json", "{what}");
        let body = response.json().await;
        assert_eq!(body["error"]["code"].as_i64(), code, "{what}: {body}");
    }
    // An allowed Origin passes.
    let allowed = client::post(
        addr,
        &[("origin", "http://localhost:3000")],
        &json!({"jsonrpc": "2.0",
        "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "t", "version": "0"}}}),
    )
    .await;
    assert_eq!(allowed.status, StatusCode::OK);

    // In a session: an unsupported MCP-Protocol-Version header is 400.
    let session = Session::start(addr).await;
    let wrong = client::post(
        addr,
        &[
            ("mcp-session-id", &session.id),
            ("mcp-protocol-version", "1999-01-01"),
        ],
        &json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    server.stop().await;
}

/// One server serving TCP and HTTP at once has one core and one admission
/// limit: with `max_sessions = 1` taken by a TCP session, an HTTP
/// `initialize` is refused (503), and admitted once the TCP session leaves.
#[tokio::test]
async fn tcp_and_http_share_one_admission_limit() {
    let server = mcp_server_core::Server::builder()
        .config(ServerConfig::default().max_sessions(1))
        .builtin_tools()
        .build();
    let tcp_listener = mcp_server_core::transport::tcp::bind("127.0.0.1:0".parse().unwrap(), 64)
        .await
        .unwrap();
    let http_listener = mcp_server_core::transport::tcp::bind("127.0.0.1:0".parse().unwrap(), 64)
        .await
        .unwrap();
    let (tcp_addr, http_addr) = (
        tcp_listener.local_addr().unwrap(),
        http_listener.local_addr().unwrap(),
    );
    let handle = server.handle();
    let (a, b) = (server.clone(), server.clone());
    let tcp = tokio::spawn(async move { a.serve_tcp(tcp_listener).await });
    let http = tokio::spawn(async move { b.serve_http(http_listener).await });

    let mut over_tcp = support::Client::connect(tcp_addr).await;
    over_tcp.initialize().await;
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    let refused = client::post(http_addr, &[], &init).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    drop(over_tcp);
    wait_until("the TCP session to leave", || handle.sessions().is_empty()).await;
    let admitted = Session::start(http_addr).await;
    assert_eq!(handle.sessions().len(), 1);
    drop(admitted);
    handle.shutdown();
    tokio::time::timeout(HANG, tcp).await.unwrap().unwrap();
    tokio::time::timeout(HANG, http).await.unwrap().unwrap();
}

/// A session with no request and no stream for `session_idle_timeout` ends,
/// and so does one that never finished `initialize`.
#[tokio::test]
async fn idle_sessions_expire() {
    let idle = Duration::from_millis(200);
    let config = ServerConfig::default().http(HttpConfig::default().session_idle_timeout(idle));
    let server = TestServer::start_http(config, vec![]).await;
    let session = Session::start(server.addr).await;
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
    let half = client::post(server.addr, &[], &init).await; // never sends notifications/initialized
    assert_eq!(half.status, StatusCode::OK);
    assert_eq!(server.handle.sessions().len(), 2);
    wait_until("both sessions to expire", || server.handle.sessions().is_empty()).await;
    let after = session
        .post(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
    assert_eq!(server.handle.available_permits(), 1024, "both permits are back");
    server.stop().await;
}

/// A session whose standalone stream is open does not expire.
#[tokio::test]
async fn an_open_stream_keeps_a_session_alive() {
    let idle = Duration::from_millis(100);
    let config = ServerConfig::default().http(HttpConfig::default().session_idle_timeout(idle));
    let server = TestServer::start_http(config, vec![]).await;
    let session = Session::start(server.addr).await;
    let stream = session.listen().await;
    tokio::time::sleep(idle * 5).await;
    assert_eq!(
        server.handle.sessions().len(),
        1,
        "alive while its stream is open"
    );
    drop(stream);
    wait_until("the session to expire", || server.handle.sessions().is_empty()).await;
    server.stop().await;
}

/// A server with the `patient` tool (it waits for its cancellation, then
/// counts it in `seen`), and a session on it.
async fn with_a_patient_session() -> (TestServer, Arc<Session>, Arc<AtomicUsize>) {
    let seen = Arc::new(AtomicUsize::new(0));
    let server = TestServer::start_http(ServerConfig::default(), vec![patient(Arc::clone(&seen))]).await;
    let session = Arc::new(Session::start(server.addr).await);
    (server, session, seen)
}

/// POSTs a `patient` call with `id` and waits until it runs; the POST's
/// answer, when it comes.
async fn park(server: &TestServer, session: &Arc<Session>, id: u64) -> tokio::task::JoinHandle<client::Open> {
    let posting = {
        let session = Arc::clone(session);
        tokio::spawn(async move { session.post(&call(id, "patient", json!({}))).await })
    };
    wait_until("the call to run", || {
        server.handle.metrics().requests_in_flight == 1
    })
    .await;
    posting
}

/// Two requests with the same id in flight in one session: the second is
/// refused with -32600; each answer goes to its own POST.
#[tokio::test]
async fn the_same_id_twice_in_flight_is_refused_and_answers_never_cross() {
    let (server, session, seen) = with_a_patient_session().await;
    let first = park(&server, &session, 7).await;
    let second = session.post(&call(7, "echo", json!({"text": "two"}))).await;
    assert_eq!(second.status, StatusCode::OK);
    let second = second.json().await;
    assert_eq!(second["id"], 7);
    assert_eq!(second["error"]["code"], -32600, "{second}");
    // Once the first is over, the id is free again.
    session
        .post(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 7}}))
        .await;
    let first = first.await.unwrap();
    assert_eq!(
        first.status,
        StatusCode::NOT_FOUND,
        "a cancelled request gets no answer"
    );
    let again = session
        .request(
            7,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "three"}}),
        )
        .await;
    assert_eq!(again["result"]["content"][0]["text"], "three");
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    server.stop().await;
}

/// A client that drops its POST while the call runs cancels the call.
#[tokio::test]
async fn dropping_a_request_stream_cancels_its_handler() {
    let (server, session, seen) = with_a_patient_session().await;
    let pending = park(&server, &session, 1).await;
    pending.abort(); // drops the connection with the request unanswered
    wait_until("the handler to see its cancellation", || {
        seen.load(Ordering::SeqCst) == 1
    })
    .await;
    wait_until("the request to end", || {
        server.handle.metrics().requests_in_flight == 0
    })
    .await;
    assert_eq!(server.handle.metrics().requests_cancelled, 1);
    // The session itself goes on.
    assert_eq!(session.request(2, "ping", json!({})).await["result"], json!({}));
    server.stop().await;
}

/// DELETE while a request runs: the request is cancelled and its POST is
/// answered 404, not left hanging; the session is gone for good.
#[tokio::test]
async fn delete_racing_a_request_answers_it_and_resurrects_nothing() {
    let (server, session, seen) = with_a_patient_session().await;
    let pending = park(&server, &session, 1).await;
    assert_eq!(session.delete().await, StatusCode::OK);
    let answered = tokio::time::timeout(HANG, pending)
        .await
        .expect("no hang")
        .unwrap();
    assert_eq!(answered.status, StatusCode::NOT_FOUND);
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    let late = session.post(&call(2, "echo", json!({"text": "late"}))).await;
    assert_eq!(late.status, StatusCode::NOT_FOUND);
    wait_until("the session to end", || server.handle.sessions().is_empty()).await;
    assert_eq!(server.handle.available_permits(), 1024);
    server.stop().await;
}

/// A standalone stream that broke is resumed with `Last-Event-ID`: the
/// events it carried after that id come first (the last 64 of them: the
/// older ones are counted as lost), then the new stream goes on live; event
/// ids stay unique in the session across reconnections.
#[tokio::test]
async fn last_event_id_replays_what_a_broken_stream_carried() {
    let server = TestServer::start_http(ServerConfig::default(), vec![]).await;
    let session = Session::start(server.addr).await;
    let mut first = session.listen().await;
    let (priming, _) = first.event().await.expect("priming");
    let stream = priming.unwrap().split('-').next().unwrap().to_owned();
    let note = Notification::new("notifications/tools/list_changed", None);
    for _ in 0..100 {
        server.handle.broadcast(&note);
    }
    wait_until("the stream to carry everything", || {
        server.handle.sessions()[0].queue_depth == 0
    })
    .await;
    let (seen, _) = first.event().await.expect("one event");
    assert_eq!(seen.as_deref(), Some(format!("{stream}-1").as_str()));
    drop(first); // the other 99 were sent but never read

    let mut resumed = session.resume(&format!("{stream}-1")).await;
    assert_eq!(resumed.status, StatusCode::OK);
    let (priming, _) = resumed.event().await.expect("priming");
    let new_stream = priming.unwrap().split('-').next().unwrap().to_owned();
    assert_ne!(new_stream, stream, "a new stream, with ids of its own");
    let mut ids = Vec::new();
    for _ in 0..64 {
        ids.push(resumed.event().await.expect("a replayed event").0.unwrap());
    }
    assert_eq!(ids.first().unwrap(), &format!("{stream}-37"));
    assert_eq!(ids.last().unwrap(), &format!("{stream}-100"));
    assert_eq!(
        server.handle.metrics().replay_lost,
        35,
        "events 2..=36 were no longer kept"
    );
    server.handle.broadcast(&note);
    let (live, data) = resumed.event().await.expect("a live event");
    assert_eq!(live.unwrap(), format!("{new_stream}-1"));
    assert!(data.contains("tools/list_changed"));
    server.stop().await;
}

/// Shutdown with a standalone stream and a request stream open: both end,
/// and `serve_http` returns within the grace.
#[tokio::test]
async fn shutdown_ends_open_streams_within_the_grace() {
    let grace = Duration::from_secs(2);
    let config = ServerConfig::default().shutdown_grace(grace);
    let server = TestServer::start_http(config, vec![reports_then_waits()]).await;
    let session = Session::start(server.addr).await;
    let mut standalone = session.listen().await;
    assert_eq!(standalone.event().await.expect("priming").1, "");
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "reports_then_waits", "arguments": {}, "_meta": {"progressToken": 1}}});
    let mut running = session.post(&body).await;
    assert_eq!(running.status, StatusCode::OK);
    running.message().await.expect("a first progress notification");
    let started = std::time::Instant::now();
    let report = server.stop().await;
    assert!(
        started.elapsed() < grace + Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(report.sessions_aborted, 0);
    while standalone.event().await.is_some() {}
    while running.event().await.is_some() {}
}
