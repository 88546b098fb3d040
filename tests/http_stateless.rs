//! Streamable HTTP for 2026-07-28 over real sockets: stateless requests,
//! the header checks in the order the conformance suite expects, methods
//! this generation lacks, a closed stream cancelling its request, and every
//! cap of the HTTP transport answering at once.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{Method, StatusCode};
use mcp_server_core::ServerConfig;
use mcp_server_core::config::HttpConfig;
use serde_json::{Value, json};
use support::http::{self as client, Session, stateless, stateless_params};
use support::{TestServer, patient, wait_until};

crate::both_runtimes! {
    async fn a_stateless_call_needs_no_session() {
        let server = TestServer::start_http(ServerConfig::default(), vec![]).await;
        let response = stateless(
            server.addr,
            "tools/call",
            Some("echo"),
            json!({"name": "echo", "arguments": {"text": "no session"}}),
        )
        .await;
        assert_eq!(response.status, StatusCode::OK);
        assert!(response.headers.get("mcp-session-id").is_none());
        let body = response.json().await;
        assert_eq!(body["result"]["content"][0]["text"], "no session");
        assert_eq!(body["result"]["resultType"], "complete");
        let discovered = stateless(server.addr, "server/discover", None, json!({}))
            .await
            .json()
            .await;
        assert!(
            discovered["result"]["supportedVersions"]
                .as_array()
                .unwrap()
                .contains(&json!("2026-07-28"))
        );
        assert!(server.handle.sessions().is_empty(), "no session was created");
        // A base64 Mcp-Name is decoded before it is compared.
        let encoded = stateless(
            server.addr,
            "tools/call",
            Some("=?base64?ZWNobw==?="),
            json!({"name": "echo", "arguments": {"text": "b64"}}),
        )
        .await;
        assert_eq!(encoded.status, StatusCode::OK);
        server.stop().await;
    }
}

/// A request that fails one check: its name, headers and body, and the
/// JSON-RPC code it must get.
type Check<'a> = (&'a str, Vec<(&'a str, &'a str)>, Value, i64);

crate::both_runtimes! {
    /// The checks, each on its own, in the order of the module docs.
    async fn the_header_checks_answer_400_with_the_spec_errors() {
        let server = TestServer::start_http(ServerConfig::default(), vec![]).await;
        let addr = server.addr;
        let list = |params: Value| json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": params});
        let meta = stateless_params(json!({}));
        let cases: Vec<Check> = vec![
            (
                "no version header",
                vec![("mcp-method", "tools/list")],
                list(meta.clone()),
                -32020,
            ),
            (
                "no version header, no _meta",
                vec![("mcp-method", "tools/list")],
                list(json!({})),
                -32020,
            ),
            (
                "_meta without capabilities",
                vec![
                    ("mcp-protocol-version", "2026-07-28"),
                    ("mcp-method", "tools/list"),
                ],
                list(json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}})),
                -32602,
            ),
            (
                "version header differs from _meta",
                vec![
                    ("mcp-protocol-version", "2026-07-29"),
                    ("mcp-method", "tools/list"),
                ],
                list(meta.clone()),
                -32020,
            ),
            (
                "no method header",
                vec![("mcp-protocol-version", "2026-07-28")],
                list(meta.clone()),
                -32020,
            ),
            (
                "method header differs",
                vec![
                    ("mcp-protocol-version", "2026-07-28"),
                    ("mcp-method", "tools/call"),
                ],
                list(meta.clone()),
                -32020,
            ),
            (
                "an unsupported version",
                vec![
                    ("mcp-protocol-version", "2099-01-01"),
                    ("mcp-method", "tools/list"),
                ],
                list(
                    json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2099-01-01",
                                     "io.modelcontextprotocol/clientCapabilities": {}}}),
                ),
                -32022,
            ),
            (
                // No `Mcp-Method`, no `_meta`, but not a handshake version:
                // taken as a stateless request (refused for its `_meta`),
                // not as a 2025 request without a session (-32600).
                "an unknown version in the header alone",
                vec![("mcp-protocol-version", "2099-01-01")],
                list(json!({})),
                -32602,
            ),
        ];
        for (what, headers, body, code) in cases {
            let response = client::post(addr, &headers, &body).await;
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{what}");
            let body = response.json().await;
            assert_eq!(body["error"]["code"], code, "{what}: {body}");
            if code == -32022 {
                assert_eq!(body["error"]["data"]["requested"], "2099-01-01");
                assert_eq!(body["error"]["data"]["supported"], json!(["2026-07-28"]));
            }
        }
        let wrong_name = stateless(
            addr,
            "tools/call",
            Some("sleep"),
            json!({"name": "echo", "arguments": {}}),
        )
        .await;
        assert_eq!(wrong_name.status, StatusCode::BAD_REQUEST);
        assert_eq!(wrong_name.json().await["error"]["code"], -32020);
        let no_name = stateless(addr, "tools/call", None, json!({"name": "echo", "arguments": {}})).await;
        assert_eq!(no_name.json().await["error"]["code"], -32020);
        server.stop().await;
    }
}

crate::both_runtimes! {
    async fn methods_the_generation_lacks_are_404() {
        let server = TestServer::start_http(ServerConfig::default(), vec![]).await;
        // `initialize` too: a request that names 2026-07-28 opens no session.
        // And methods of the generation this server does not offer (no
        // completer, no skills), which dispatch itself finds missing.
        for method in [
            "ping",
            "logging/setLevel",
            "no/such/method",
            "initialize",
            "completion/complete",
            "skills/list",
        ] {
            let response = stateless(server.addr, method, None, json!({})).await;
            assert_eq!(response.status, StatusCode::NOT_FOUND, "{method}");
            assert_eq!(response.json().await["error"]["code"], -32601, "{method}");
        }
        assert!(server.handle.sessions().is_empty(), "a session was opened");
        // GET and DELETE do not exist without a session.
        let get = client::send(
            server.addr,
            Method::GET,
            &[
                ("accept", "text/event-stream"),
                ("mcp-protocol-version", "2026-07-28"),
            ],
            "",
        )
        .await;
        assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(get.headers["allow"], "POST", "a stateless client may only POST");
        // A notification or a response has no answer: 202 (a 2025 client's
        // without a session is refused instead: tests/http_sessions).
        for message in [
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}),
            json!({"jsonrpc": "2.0", "id": 5, "result": {}}),
        ] {
            let posted = client::post(server.addr, &[("mcp-protocol-version", "2026-07-28")], &message).await;
            assert_eq!(posted.status, StatusCode::ACCEPTED, "{message}");
        }
        server.stop().await;
    }
}

crate::both_runtimes! {
    /// Progress first makes the answer an SSE stream; closing that stream
    /// cancels the request's handler.
    async fn a_stateless_stream_streams_and_closing_it_cancels_the_request() {
        let server = TestServer::start_http(ServerConfig::default(), vec![]).await;
        let mut stream = stateless(
            server.addr,
            "tools/call",
            Some("sleep"),
            json!({"name": "sleep", "arguments": {"ms": 50}, "_meta": {"progressToken": "t"}}),
        )
        .await;
        assert_eq!(stream.headers["content-type"], "text/event-stream");
        let mut progress = 0;
        let answer = loop {
            let message = stream.message().await.expect("an answer");
            if message["method"] == "notifications/progress" {
                progress += 1;
            } else {
                break message;
            }
        };
        assert_eq!(progress, 10);
        assert_eq!(answer["result"]["resultType"], "complete");
        assert_eq!(
            answer["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "mcp-server-core",
            "a call answered after it waited names the server too"
        );

        let seen = Arc::new(AtomicUsize::new(0));
        let server2 = TestServer::start_http(ServerConfig::default(), vec![patient(Arc::clone(&seen))]).await;
        let pending = park(&server2).await;
        pending.abort();
        wait_until("the handler to see its cancellation", || {
            seen.load(Ordering::SeqCst) == 1
        })
        .await;
        wait_until("the request to end", || {
            server2.handle.metrics().requests_in_flight == 0
        })
        .await;
        server.stop().await;
        server2.stop().await;
    }
}

/// Starts a stateless `patient` call (it waits for its cancellation) and
/// waits until it runs; the POST's answer, when it comes.
async fn park(server: &TestServer) -> tokio::task::JoinHandle<client::Open> {
    let addr = server.addr;
    let posting = tokio::spawn(async move {
        let params = json!({"name": "patient", "arguments": {}});
        stateless(addr, "tools/call", Some("patient"), params).await
    });
    wait_until("the call to run", || {
        server.handle.metrics().requests_in_flight == 1
    })
    .await;
    posting
}

crate::both_runtimes! {
    /// `max_concurrent_requests` and `max_sessions` each answer 503 at once,
    /// with a JSON-RPC error naming the limit, and count.
    async fn the_request_and_session_caps_answer_at_once_and_are_counted() {
        let seen = Arc::new(AtomicUsize::new(0));
        let config = ServerConfig::default()
            .max_sessions(1)
            .http(HttpConfig::default().max_concurrent_requests(1));
        let server = TestServer::start_http(config, vec![patient(Arc::clone(&seen))]).await;
        let addr = server.addr;
        let parked = park(&server).await;
        let refused = stateless(
            addr,
            "tools/call",
            Some("echo"),
            json!({"name": "echo", "arguments": {"text": "x"}}),
        )
        .await;
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        let body = refused.json().await;
        assert_eq!(body["error"]["code"], -32000);
        assert_eq!(body["error"]["data"]["maxConcurrentRequests"], 1);
        assert_eq!(server.handle.metrics().requests_rejected, 1);

        // A session that is busy (its standalone stream open): an idle one
        // would be ended to make room.
        let session = Session::start(addr).await;
        let _stream = session.listen().await;
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
        let second = client::post(addr, &[], &init).await;
        assert_eq!(second.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(second.json().await["error"]["data"]["maxSessions"], 1);
        parked.abort();
        server.stop().await;
    }
}

crate::both_runtimes! {
    /// `max_connections`: with the cap's connections open (a running call's
    /// and two idle ones), the next is answered 503 naming the limit, and
    /// counted. The server notices a closed connection in its own time (at
    /// once on one thread, a moment later on several), so the test waits
    /// for the gauge rather than assuming.
    async fn the_connection_cap_answers_at_once_and_is_counted() {
        let seen = Arc::new(AtomicUsize::new(0));
        let config = ServerConfig::default().http(HttpConfig::default().max_connections(3));
        let server = TestServer::start_http(config, vec![patient(Arc::clone(&seen))]).await;
        let addr = server.addr;
        let parked = park(&server).await;
        server
            .wait_for("the call's connection alone", |h| h.metrics().http_connections_open == 1)
            .await;
        let held = [
            tokio::net::TcpStream::connect(addr).await.unwrap(),
            tokio::net::TcpStream::connect(addr).await.unwrap(),
        ];
        server
            .wait_for("three connections open", |h| h.metrics().http_connections_open == 3)
            .await;
        let over = stateless(addr, "tools/list", None, json!({})).await;
        assert_eq!(over.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(over.json().await["error"]["data"]["maxConnections"], 3);
        assert_eq!(server.handle.metrics().connections_rejected, 1);
        drop(held);
        parked.abort();
        server.stop().await;
    }
}

crate::both_runtimes! {
    /// A stateless call still running when shutdown begins is answered 503
    /// with its own id (found by the simulation: it was `null`).
    async fn a_call_cut_by_shutdown_is_answered_with_its_id() {
        let seen = Arc::new(AtomicUsize::new(0));
        let server = TestServer::start_http(ServerConfig::default(), vec![patient(Arc::clone(&seen))]).await;
        let parked = park(&server).await;
        server.handle.shutdown();
        let refused = parked.await.unwrap();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        let body = refused.json().await;
        assert_eq!(body["error"]["code"], -32000, "{body}");
        assert_eq!(body["id"], 1, "{body}");
        server.stop().await;
    }
}

crate::both_runtimes! {
    /// A tool parameter mirrored into a header (`x-mcp-header`): the
    /// `Mcp-Param-*` header must agree with the body, or the call is 400
    /// with -32020 (a header left out, or one that differs); and a call
    /// the client lacks a capability for is 400 with -32021. (cargo-mutants
    /// left both unchecked: the parameter check applied to every method
    /// but `tools/call`, and -32021 answered 200.)
    async fn mirrored_parameters_and_missing_capabilities_are_400() {
        let region = mcp_server_core::Tool::new(
            "region",
            "names its region",
            json!({"type": "object", "properties": {"region": {"type": "string", "x-mcp-header": "Region"}}}),
            |args, _ctx| async move {
                Ok(mcp_server_core::ToolOutput::text(args["region"].as_str().unwrap_or("?").to_owned()))
            },
        );
        let tools = vec![region, support::tasks::ask()];
        let server = TestServer::start_http(ServerConfig::default(), tools).await;
        let call = json!({"name": "region", "arguments": {"region": "eu"}});
        let post = |headers: &'static [(&'static str, &'static str)]| {
            client::stateless_with(server.addr, "tools/call", Some("region"), call.clone(), headers)
        };
        let agreed = post(&[("mcp-param-region", "eu")]).await;
        assert_eq!(agreed.status, StatusCode::OK);
        assert_eq!(agreed.json().await["result"]["content"][0]["text"], "eu");
        for (what, headers) in [
            ("no header", &[][..]),
            ("a header that differs", &[("mcp-param-region", "us")][..]),
        ] {
            let refused = post(headers).await;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{what}");
            assert_eq!(refused.json().await["error"]["code"], -32020, "{what}");
        }
        let unable = stateless(server.addr, "tools/call", Some("ask"), json!({"name": "ask"})).await;
        assert_eq!(unable.status, StatusCode::BAD_REQUEST);
        assert_eq!(unable.json().await["error"]["code"], -32021);
        server.stop().await;
    }
}
