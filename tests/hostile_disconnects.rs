//! Hostile and vanishing HTTP clients, over real sockets: a client that
//! opens a 2025 session's GET stream and never reads it while
//! notifications flow, and clients that vanish mid-SSE and in the middle
//! of pipelined requests (HTTP/1.1's batch). Each leaves the server with
//! every request ended, every permit back and every connection closed;
//! well-behaved clients beside them are served throughout.

#![cfg(not(any(loom, shuttle)))]

mod support;

use http::StatusCode;
use mcp_server_core::{Notification, ServerConfig};
use serde_json::{Value, json};
use support::http::{Session, stateless_params};
use support::{HANG, TestServer, wait_until};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the end of the response head; what came with it.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(HANG, stream.read(&mut buf))
            .await
            .expect("a response head in time")
            .expect("read");
        assert!(n > 0, "closed before the head");
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// A raw HTTP/1.1 request for `/mcp`.
fn raw(method: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut text = format!("{method} /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    text
}

/// A POST of a call to `sleep` for a minute, as raw HTTP.
fn sleeping_post(id: u64, session: Option<&str>) -> String {
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    let mut params = json!({"name": "sleep", "arguments": {"ms": 60_000}});
    match session {
        Some(sid) => {
            headers.push(("Mcp-Session-Id", sid));
            headers.push(("MCP-Protocol-Version", "2025-11-25"));
        }
        None => {
            headers.push(("MCP-Protocol-Version", "2026-07-28"));
            headers.push(("Mcp-Method", "tools/call"));
            headers.push(("Mcp-Name", "sleep"));
            params = stateless_params(params);
        }
    }
    let body: Value = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
    raw("POST", &headers, &body.to_string())
}

/// True once nothing runs and every permit is back.
fn all_back(server: &TestServer) -> bool {
    let h = &server.handle;
    let m = h.metrics();
    m.requests_in_flight == 0
        && m.http_connections_open == 0
        && h.available_permits() + h.sessions().len() == 1024
}

crate::both_runtimes! {
    async fn a_get_stream_that_is_never_read_stays_bounded_and_can_be_opened_again() {
        let server = TestServer::start_http(ServerConfig::default().outbox_capacity(8), vec![]).await;
        let session = Session::start(server.addr).await;
        let mut silent = TcpStream::connect(server.addr).await.unwrap();
        let get = raw(
            "GET",
            &[("Accept", "text/event-stream"), ("Mcp-Session-Id", &session.id)],
            "",
        );
        silent.write_all(get.as_bytes()).await.unwrap();
        // The stream is open once its head has come; from here on, not a byte
        // is read.
        assert!(read_head(&mut silent).await.starts_with("HTTP/1.1 200"));
        let handle = &server.handle;
        // 20 MB of log notifications for the session: far more than the socket
        // buffers hold.
        let note = Notification::log("info", None, json!("x".repeat(10_000)));
        for _ in 0..2_000 {
            handle.broadcast(&note);
            let deepest = handle.sessions().iter().map(|s| s.queue_depth).max().unwrap_or(0);
            assert!(deepest <= 8, "an outbox grew to {deepest}");
        }
        wait_until("drops are counted", || handle.metrics().messages_dropped > 0).await;
        // Others are served meanwhile, this session too.
        let other = Session::start(server.addr).await;
        assert_eq!(other.delete().await, StatusCode::OK);
        let pong = session.request(1, "ping", json!({})).await;
        assert_eq!(pong["result"], json!({}));
        // The client vanishes mid-SSE: the stream ends, the session stays, and
        // its client may open the stream again.
        drop(silent);
        let deadline = tokio::time::Instant::now() + HANG;
        loop {
            // 409 while the old stream is still being closed.
            let again = session.listen().await;
            if again.status == StatusCode::OK {
                break;
            }
            assert_eq!(again.status, StatusCode::CONFLICT);
            assert!(
                tokio::time::Instant::now() < deadline,
                "the GET stream never reopened"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(session.delete().await, StatusCode::OK);
        wait_until("everything back", || all_back(&server)).await;
        server.stop().await;
    }
}

/// Pipelined POSTs on one connection, then the client vanishes before
/// reading an answer: the request that ran is cancelled, the others never
/// run, nothing is left running or held.
async fn vanishing_after_pipelined_posts(server: &TestServer, session: Option<&str>) {
    let before = server.handle.metrics();
    let mut client = TcpStream::connect(server.addr).await.unwrap();
    let batch: String = (1..=3).map(|id| sleeping_post(id, session)).collect();
    client.write_all(batch.as_bytes()).await.unwrap();
    let handle = &server.handle;
    wait_until("the first call runs", || handle.metrics().requests_in_flight == 1).await;
    drop(client);
    wait_until("everything back", || all_back(server)).await;
    let after = handle.metrics();
    assert_eq!(after.requests_cancelled - before.requests_cancelled, 1);
    assert_eq!(
        after.requests_total - before.requests_total,
        1,
        "queued requests never ran"
    );
}

crate::both_runtimes! {
    async fn a_client_that_vanishes_mid_pipeline_leaves_nothing_running() {
        let server = TestServer::start_http(ServerConfig::default(), vec![]).await;
        // 2026-07-28: stateless requests, each with a request permit.
        vanishing_after_pipelined_posts(&server, None).await;
        assert_eq!(server.handle.sessions().len(), 0);
        // 2025: the session outlives the connection and is served after.
        let session = Session::start(server.addr).await;
        vanishing_after_pipelined_posts(&server, Some(&session.id)).await;
        let answer = session
            .request(
                9,
                "tools/call",
                json!({"name": "echo", "arguments": {"text": "still here"}}),
            )
            .await;
        assert_eq!(answer["result"]["content"][0]["text"], "still here");
        assert_eq!(session.delete().await, StatusCode::OK);
        wait_until("the session is gone", || server.handle.sessions().is_empty()).await;
        server.stop().await;
    }
}

/// One POST of a call that sleeps, then the client ends its side of the
/// connection, with a half close (`shutdown`, still reading) or a full one:
/// the call is cancelled and nothing is left held. hyper is told not to
/// read while it answers (`half_close`); the connection's watch is what
/// notices, and counts (`http_clients_vanished`; without the count, a
/// variant cargo-mutants left alive, the half close fails).
async fn closing_during_one_post(server: &TestServer, session: Option<&str>, half: bool) {
    let before = server.handle.metrics();
    let mut client = TcpStream::connect(server.addr).await.unwrap();
    client
        .write_all(sleeping_post(1, session).as_bytes())
        .await
        .unwrap();
    let handle = &server.handle;
    wait_until("the call runs", || handle.metrics().requests_in_flight == 1).await;
    if half {
        client.shutdown().await.unwrap();
    } else {
        drop(client);
    }
    wait_until("everything back", || all_back(server)).await;
    let after = handle.metrics();
    assert_eq!(after.requests_cancelled - before.requests_cancelled, 1);
    if half {
        // Only the watch can notice a half close; it counts what it notices.
        assert_eq!(
            after.http_clients_vanished - before.http_clients_vanished,
            1,
            "the watch noticed the client gone"
        );
    }
}

crate::both_runtimes! {
    async fn a_client_that_closes_during_a_post_cancels_its_call() {
        let server = TestServer::start_http(ServerConfig::default(), vec![]).await;
        let session = Session::start(server.addr).await;
        for half in [true, false] {
            closing_during_one_post(&server, None, half).await;
            closing_during_one_post(&server, Some(&session.id), half).await;
        }
        assert_eq!(session.delete().await, StatusCode::OK);
        wait_until("the session is gone", || server.handle.sessions().is_empty()).await;
        server.stop().await;
    }
}

crate::both_runtimes! {
    async fn a_client_that_vanishes_mid_sse_cancels_its_call_and_the_session_goes_on() {
        let server = TestServer::start_http(ServerConfig::default(), vec![]).await;
        let session = Session::start(server.addr).await;
        // A call that streams progress (SSE); the client reads the head and the
        // first event, then closes its socket.
        let mut client = TcpStream::connect(server.addr).await.unwrap();
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "sleep", "arguments": {"ms": 20_000}, "_meta": {"progressToken": "p"}}})
        .to_string();
        let post = raw(
            "POST",
            &[
                ("Content-Type", "application/json"),
                ("Accept", "application/json, text/event-stream"),
                ("Mcp-Session-Id", &session.id),
                ("MCP-Protocol-Version", "2025-11-25"),
            ],
            &body,
        );
        client.write_all(post.as_bytes()).await.unwrap();
        let mut seen = read_head(&mut client).await;
        assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
        let mut buf = [0u8; 4096];
        while !seen.contains("notifications/progress") {
            let n = tokio::time::timeout(HANG, client.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "the stream ended before its first progress");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        drop(client);
        let handle = &server.handle;
        wait_until("the call is cancelled", || {
            let m = handle.metrics();
            m.requests_in_flight == 0 && m.requests_cancelled == 1
        })
        .await;
        let pong = session.request(2, "ping", json!({})).await;
        assert_eq!(pong["result"], json!({}));
        assert_eq!(session.delete().await, StatusCode::OK);
        wait_until("everything back", || all_back(&server)).await;
        server.stop().await;
    }
}
