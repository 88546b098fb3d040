//! The HTTP service embedded in someone else's stack: the axum example's
//! own router (`examples/axum.rs`, included here), with MCP behind the
//! example's tower layer, and a plain hyper connection loop. A handler reads a header and what the layer put
//! in the request's extensions, in both protocol generations; an ordinary
//! route beside it still answers; shutdown ends the service's streams so
//! that axum's graceful shutdown finishes, and `drain` reports the
//! sessions.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;

use http::{Method, StatusCode};
use mcp_server_core::{McpService, Server, ServerHandle, ShutdownReport};
use serde_json::{Value, json};
use support::HANG;
use support::http::{Session, post, send_to, stateless_params};
use tokio::task::JoinHandle;

/// The example itself (`examples/axum.rs`): its router, layer and tools.
#[path = "../examples/axum.rs"]
#[allow(dead_code)]
mod axum_example;

use axum_example::example;

struct Embedded {
    addr: SocketAddr,
    handle: ServerHandle,
    mcp: McpService,
    join: JoinHandle<()>,
}

/// The example's router (its service at `/mcp` beside `/health`, behind
/// its `identify` layer), served by axum.
async fn start_axum() -> Embedded {
    let server = example::server();
    let handle = server.handle();
    let (app, mcp) = example::app(&server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = handle.clone();
    let join = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                while !stop.is_shutting_down() {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            })
            .await
            .expect("axum serves");
    });
    Embedded {
        addr,
        handle,
        mcp,
        join,
    }
}

impl Embedded {
    /// Shuts the MCP server down, waits for axum's graceful shutdown and
    /// the service's drain.
    async fn stop(self) -> ShutdownReport {
        self.handle.shutdown();
        tokio::time::timeout(HANG, self.join)
            .await
            .expect("axum's graceful shutdown finished")
            .expect("the axum task");
        tokio::time::timeout(HANG, self.mcp.drain())
            .await
            .expect("the drain finished")
    }
}

fn call(id: u64, tool: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": {}}})
}

fn text(answer: &Value) -> &str {
    answer["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("a text result: {answer}"))
}

#[tokio::test]
async fn a_handler_reads_the_layers_extension_and_a_header_in_a_2025_session() {
    let app = start_axum().await;
    let session = Session::start(app.addr).await;
    let answer = post(
        app.addr,
        &[
            ("mcp-session-id", &session.id),
            ("mcp-protocol-version", "2025-11-25"),
            ("x-caller", "alice"),
            ("user-agent", "agent-1"),
        ],
        &call(1, "whoami"),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(text(&answer.json().await), "alice (user agent: agent-1)");
    // Each POST is its own request: the next one's layer found someone else.
    let answer = session
        .request(2, "tools/call", call(2, "whoami")["params"].clone())
        .await;
    assert_eq!(text(&answer), "anonymous (user agent: unknown)");
    let echoed = session
        .request(
            3,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        )
        .await;
    assert_eq!(text(&echoed), "hi");
    let report = app.stop().await;
    assert_eq!(report.sessions_closed, 1);
    assert_eq!(report.sessions_aborted, 0);
}

#[tokio::test]
async fn a_handler_reads_the_layers_extension_in_a_stateless_request() {
    let app = start_axum().await;
    let params = stateless_params(json!({"name": "whoami", "arguments": {}}));
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params});
    let answer = post(
        app.addr,
        &[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", "whoami"),
            ("x-caller", "bob"),
        ],
        &body,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    // Through axum too, a JSON answer goes out with its length, not chunked
    // (`McpBody` passes on its body's size).
    assert!(
        !answer.headers.contains_key("transfer-encoding"),
        "{:?}",
        answer.headers
    );
    let length: usize = answer.headers["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = answer.bytes().await;
    assert_eq!(length, bytes.len());
    let answer: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(text(&answer), "bob (user agent: unknown)");
    app.stop().await;
}

#[tokio::test]
async fn the_ordinary_route_beside_it_still_answers() {
    let app = start_axum().await;
    let health = send_to(app.addr, "/health", Method::GET, &[], "").await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(&health.bytes().await[..], b"ok");
    // Outside the mount, axum answers, not the MCP service.
    let missing = send_to(app.addr, "/elsewhere", Method::GET, &[], "").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn shutdown_ends_an_open_stream_so_that_axum_can_finish() {
    let app = start_axum().await;
    let session = Session::start(app.addr).await;
    let mut stream = session.listen().await;
    assert_eq!(stream.status, StatusCode::OK);
    app.handle.shutdown();
    // The standalone stream ends (it would keep axum waiting otherwise).
    while stream.event().await.is_some() {}
    let report = app.stop().await;
    assert_eq!(report.sessions_closed, 1);
}

#[tokio::test]
async fn a_plain_hyper_connection_loop_serves_it_too() {
    let server = example::server();
    let mcp = server.http_service();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        // The service is a hyper Service: served as it is.
        hyper::server::conn::http1::Builder::new()
            .serve_connection(hyper_util::rt::TokioIo::new(stream), mcp)
            .await
            .expect("served");
    });
    let answer = post(addr, &[], &initialize()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.headers.contains_key("mcp-session-id"));
    server.handle().shutdown();
    let _ = tokio::time::timeout(HANG, accept).await;
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"}}})
}

/// The service is a tower service for any body type, with `Infallible`
/// errors, as axum's `route_service` and `nest_service` require.
#[allow(dead_code)]
fn is_a_tower_service() {
    fn tower<S>(_: &S)
    where
        S: tower_service::Service<http::Request<axum::body::Body>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send,
    {
    }
    let server = Server::builder().build();
    tower(&server.http_service());
}
