//! Requests from the server to the client in a 2025 session (elicitation,
//! sampling, roots) over TCP and Streamable HTTP: answered on the call's
//! own stream, a capability the client lacks, a client that never answers,
//! a session that ends with requests waiting, answers to nothing, and a
//! session at its in-flight cap whose calls all wait on the client.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::StatusCode;
use mcp_server_core::{InputError, Server, ServerConfig, Tool, ToolOutput};
use serde_json::{Value, json};
use support::http::{self as client};
use support::wire::{Way, Wire};
use support::{Client, TestServer, wait_until};

/// What the `ask` tool's last call ended with.
type Seen = Arc<Mutex<Vec<Result<Value, InputError>>>>;

/// `ask {method}`: sends the client `method` (elicit, sample or roots) and
/// returns its answer, or the error as an `isError` result.
fn ask(seen: Seen) -> Tool {
    Tool::new(
        "ask",
        "asks the client",
        json!({"type": "object"}),
        move |args, ctx| {
            let seen = Arc::clone(&seen);
            async move {
                let answer = match args["method"].as_str() {
                Some("sample") => {
                    ctx.sample(json!({"messages": [{"role": "user", "content": {"type": "text", "text": "2+2?"}}],
                                      "maxTokens": 5}))
                        .await
                }
                Some("roots") => ctx.list_roots().await,
                Some("url") => {
                    let params = json!({"mode": "url", "message": "Sign in", "url": "https://example.com/login",
                                        "elicitationId": "login-1"});
                    ctx.ask_client("elicitation/create", params).await
                }
                Some("sample_tools") => {
                    ctx.sample(json!({"messages": [], "maxTokens": 5, "tools": [{"name": "t", "inputSchema": {}}]}))
                        .await
                }
                _ => ctx.elicit("Proceed?", json!({"type": "object", "properties": {"ok": {"type": "boolean"}}})).await,
            };
                seen.lock().unwrap().push(answer.clone());
                Ok(match answer {
                    Ok(value) => ToolOutput::structured(value),
                    Err(e) => ToolOutput::error(e.to_string()),
                })
            }
        },
    )
}

fn server(config: ServerConfig, seen: &Seen) -> Server {
    Server::builder()
        .config(config)
        .tool(ask(Arc::clone(seen)))
        .build()
}

fn initialize(capabilities: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": capabilities,
        "clientInfo": {"name": "test", "version": "0"}}})
}

async fn tcp_client(server: &TestServer, capabilities: Value) -> Client {
    let mut client = server.client().await;
    client.send(&initialize(capabilities)).await;
    client.response(&json!(0)).await;
    client.notify("notifications/initialized", json!({})).await;
    client
}

fn call(id: u64, method: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "ask", "arguments": {"method": method}}})
}

/// Reads until the server's request arrives; returns it.
async fn server_request(client: &mut Client) -> Value {
    loop {
        let message = client.recv().await.expect("the connection stays open");
        if message.get("method").is_some() && message.get("id").is_some() {
            return message;
        }
        client.notifications.push_back(message);
    }
}

crate::both_runtimes! {
    async fn each_kind_of_request_is_answered_over_tcp() {
        let seen = Seen::default();
        let server = TestServer::serve(server(ServerConfig::default(), &seen), false).await;
        let caps = json!({"elicitation": {}, "sampling": {}, "roots": {"listChanged": true}});
        let mut client = tcp_client(&server, caps).await;
        for (n, (method, wire, answer)) in [
            (
                "elicit",
                "elicitation/create",
                json!({"action": "accept", "content": {"ok": true}}),
            ),
            (
                "sample",
                "sampling/createMessage",
                json!({"role": "assistant", "content": {"type": "text", "text": "4"}, "model": "m"}),
            ),
            (
                "roots",
                "roots/list",
                json!({"roots": [{"uri": "file:///tmp", "name": "tmp"}]}),
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let id = n as u64 + 1;
            client.send(&call(id, method)).await;
            let request = server_request(&mut client).await;
            assert_eq!(request["method"], wire);
            client
                .send(&json!({"jsonrpc": "2.0", "id": request["id"], "result": answer}))
                .await;
            let response = client.response(&json!(id)).await;
            assert_eq!(response["result"]["structuredContent"], answer, "{method}");
        }
        assert_eq!(server.handle.metrics().responses_unmatched, 0);
        // The client answers with an error: the handler sees it.
        client.send(&call(9, "elicit")).await;
        let request = server_request(&mut client).await;
        client
            .send(
                &json!({"jsonrpc": "2.0", "id": request["id"], "error": {"code": -1, "message": "user said no"}}),
            )
            .await;
        let response = client.response(&json!(9)).await;
        assert_eq!(response["result"]["isError"], true);
        assert!(
            response["result"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("user said no")
        );
        // An answer to nothing is ignored and counted; the session goes on.
        client
            .send(&json!({"jsonrpc": "2.0", "id": "srv-404", "result": {}}))
            .await;
        let pong = client.request(10, "ping", json!({})).await;
        assert_eq!(pong["result"], json!({}));
        assert_eq!(server.handle.metrics().responses_unmatched, 1);
        server.stop().await;
    }
}

crate::both_runtimes! {
    async fn a_capability_the_client_lacks_fails_at_once() {
        let seen = Seen::default();
        let server = TestServer::serve(server(ServerConfig::default(), &seen), false).await;
        let mut client = tcp_client(&server, json!({"roots": {}})).await;
        for (id, method, capability) in [(1, "elicit", "elicitation"), (2, "sample", "sampling")] {
            let response = client
                .request(id, "tools/call", call(id, method)["params"].clone())
                .await;
            assert_eq!(response["result"]["isError"], true);
            assert_eq!(
                seen.lock().unwrap().last().unwrap(),
                &Err(InputError::NotSupported(capability)),
                "nothing was sent to the client"
            );
        }
        assert!(client.notifications.is_empty());
        server.stop().await;
    }
}

crate::both_runtimes! {
    /// URL-mode elicitation needs `elicitation.url`, sampling with tools
    /// `sampling.tools`: a client that declared only `elicitation: {}` (form
    /// mode) and `sampling: {}` is never sent either, in a 2025 session or a
    /// 2026-07-28 request.
    async fn a_mode_or_feature_the_client_did_not_declare_fails_at_once() {
        let seen = Seen::default();
        let server = TestServer::serve(server(ServerConfig::default(), &seen), false).await;
        let declared = json!({"elicitation": {}, "sampling": {}});
        let cases = [
            (1, "url", "elicitation.url"),
            (2, "sample_tools", "sampling.tools"),
        ];
        let mut client = tcp_client(&server, declared.clone()).await;
        for (id, method, capability) in cases {
            let response = client
                .request(id, "tools/call", call(id, method)["params"].clone())
                .await;
            assert_eq!(response["result"]["isError"], true, "{response}");
            assert_eq!(
                seen.lock().unwrap().last().unwrap(),
                &Err(InputError::NotSupported(capability))
            );
        }
        assert!(client.notifications.is_empty(), "nothing was sent to the client");
        let mut stateless = server.client().await;
        for (id, method, capability) in cases {
            let mut params = support::stateless(json!({"name": "ask", "arguments": {"method": method}}));
            params["_meta"]["io.modelcontextprotocol/clientCapabilities"] = declared.clone();
            let response = stateless.request(id, "tools/call", params).await;
            assert_eq!(
                response["result"]["resultType"], "complete",
                "not asked: {response}"
            );
            assert_eq!(response["result"]["isError"], true, "{response}");
            assert_eq!(
                seen.lock().unwrap().last().unwrap(),
                &Err(InputError::NotSupported(capability))
            );
        }
        server.stop().await;
        // Over HTTP, as 2026-07-28 requests.
        let http = TestServer::serve(self::server(ServerConfig::default(), &seen), true).await;
        let mut wire = Wire::open(Way::Http2026, http.addr).await;
        for (id, method, capability) in cases {
            let params = json!({"name": "ask", "arguments": {"method": method},
                                "_meta": {"io.modelcontextprotocol/clientCapabilities": declared}});
            let response = wire.request(id, "tools/call", params).await;
            assert_eq!(
                response["result"]["resultType"], "complete",
                "not asked: {response}"
            );
            assert_eq!(
                seen.lock().unwrap().last().unwrap(),
                &Err(InputError::NotSupported(capability))
            );
        }
        http.stop().await;
    }
}

crate::both_runtimes! {
    async fn a_client_that_never_answers_times_out_and_a_late_answer_is_counted() {
        let seen = Seen::default();
        let config = ServerConfig::default().client_request_timeout(Duration::from_millis(100));
        let server = TestServer::serve(server(config, &seen), false).await;
        let mut client = tcp_client(&server, json!({"elicitation": {}})).await;
        client.send(&call(1, "elicit")).await;
        let request = server_request(&mut client).await;
        let response = client.response(&json!(1)).await;
        assert_eq!(response["result"]["isError"], true);
        assert_eq!(
            seen.lock().unwrap().last().unwrap(),
            &Err(InputError::TimedOut(100))
        );
        client
            .send(&json!({"jsonrpc": "2.0", "id": request["id"], "result": {"action": "accept"}}))
            .await;
        client.request(2, "ping", json!({})).await;
        assert_eq!(
            server.handle.metrics().responses_unmatched,
            1,
            "too late: counted, ignored"
        );
        server.stop().await;
    }
}

crate::both_runtimes! {
    async fn a_session_that_ends_fails_the_requests_it_waits_on() {
        let seen = Seen::default();
        let server = TestServer::serve(server(ServerConfig::default(), &seen), false).await;
        let mut client = tcp_client(&server, json!({"elicitation": {}})).await;
        client.send(&call(1, "elicit")).await;
        server_request(&mut client).await;
        drop(client);
        server
            .wait_for("the session to end", |h| h.sessions().is_empty())
            .await;
        let m = server.handle.metrics();
        assert_eq!(
            (m.requests_in_flight, m.requests_cancelled),
            (0, 1),
            "the waiting call was cancelled"
        );
        server.stop().await;
    }
}

crate::both_runtimes! {
    /// At the in-flight cap with every call waiting on the client, the session
    /// reads on (the client's answers may come behind other requests on the one
    /// connection), so nothing deadlocks: a third call starts, and every answer
    /// gets through. (With the cap counting waiting calls, the client's answers
    /// would sit unread behind call 3 and this test would hang.)
    async fn at_the_in_flight_cap_the_clients_answers_still_get_through() {
        let seen = Seen::default();
        let config = ServerConfig::default().max_in_flight_per_session(2);
        let server = TestServer::serve(server(config, &seen), false).await;
        let mut client = tcp_client(&server, json!({"elicitation": {}})).await;
        client.send(&call(1, "elicit")).await;
        client.send(&call(2, "elicit")).await;
        let mut asked = vec![
            server_request(&mut client).await,
            server_request(&mut client).await,
        ];
        // Both calls wait on the client: a third is read behind them and starts.
        client.send(&call(3, "elicit")).await;
        asked.push(server_request(&mut client).await);
        assert_eq!(server.handle.metrics().requests_in_flight, 3);
        for request in &asked {
            client
                .send(&json!({"jsonrpc": "2.0", "id": request["id"], "result": {"action": "decline"}}))
                .await;
        }
        // The three answers, in whatever order the calls ended (on the
        // multi-threaded runtime they end in parallel).
        let mut answered = Vec::new();
        while answered.len() < 3 {
            let response = client.recv().await.expect("the answers");
            if response.get("method").is_some() {
                continue;
            }
            assert_eq!(response["result"]["structuredContent"]["action"], "decline");
            answered.push(response["id"].as_u64().expect("an id"));
        }
        answered.sort_unstable();
        assert_eq!(answered, [1, 2, 3]);
        server.stop().await;
    }
}

crate::both_runtimes! {
    async fn over_http_the_request_comes_on_the_calls_stream_and_the_answer_is_a_post() {
        let seen = Seen::default();
        let config = ServerConfig::default().max_in_flight_per_session(1);
        let server = TestServer::serve(server(config, &seen), true).await;
        let init = client::post(server.addr, &[], &initialize(json!({"elicitation": {}}))).await;
        let sid = init.headers["mcp-session-id"].to_str().unwrap().to_owned();
        let headers = [
            ("mcp-session-id", sid.as_str()),
            ("mcp-protocol-version", "2025-11-25"),
        ];
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(
            client::post(server.addr, &headers, &note).await.status,
            StatusCode::ACCEPTED
        );
        let mut stream = client::post(server.addr, &headers, &call(1, "elicit")).await;
        let request = stream
            .message()
            .await
            .expect("the server's request on the call's stream");
        assert_eq!(request["method"], "elicitation/create");
        // The session is at its cap (1): the answer must not wait behind it.
        let answer = json!({"jsonrpc": "2.0", "id": request["id"], "result": {"action": "accept", "content": {"ok": true}}});
        assert_eq!(
            client::post(server.addr, &headers, &answer).await.status,
            StatusCode::ACCEPTED
        );
        let response = stream.message().await.expect("the answer");
        assert_eq!(response["result"]["structuredContent"]["content"]["ok"], true);
        // An answer to nothing: 202, counted.
        let stray = json!({"jsonrpc": "2.0", "id": "srv-77", "result": {}});
        assert_eq!(
            client::post(server.addr, &headers, &stray).await.status,
            StatusCode::ACCEPTED
        );
        wait_until("the stray answer to be counted", || {
            server.handle.metrics().responses_unmatched == 1
        })
        .await;
        server.stop().await;
    }
}

crate::both_runtimes! {
    async fn a_stateless_request_asks_only_for_what_it_declared() {
        // (How a stateless request asks, with `input_required`, is
        // tests/input_rounds.rs.)
        let seen = Seen::default();
        let server = TestServer::serve(server(ServerConfig::default(), &seen), false).await;
        let mut client = server.client().await;
        let params = support::stateless(json!({"name": "ask", "arguments": {"method": "roots"}}));
        let response = client.request(1, "tools/call", params).await;
        assert_eq!(response["result"]["isError"], true);
        assert_eq!(
            seen.lock().unwrap().last().unwrap(),
            &Err(InputError::NotSupported("roots"))
        );
        server.stop().await;
    }
}
