//! Clients that stop reading, over real sockets: the server's writes to
//! them wait on full socket buffers, and nothing else would ever end such
//! a connection. Once a write has made no progress for
//! `write_stall_timeout` the connection is closed, what it carried is
//! cancelled, and it is counted (`write_stalls`); a client beside it is
//! served throughout, and nothing is left behind.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::time::Duration;

use mcp_server_core::ServerConfig;
use serde_json::json;
use support::{Client, TestServer, wait_until};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

const LIMIT: Duration = Duration::from_millis(300);
/// Text echoed back: each answer is this big, and the reader takes none.
const CHUNK: usize = 256 * 1024;
/// Answers asked for: far more than the two sockets' buffers hold.
const ASKED: usize = 64;

fn config() -> ServerConfig {
    ServerConfig::default().write_stall_timeout(LIMIT)
}

/// A connection that reads nothing, with a receive buffer as small as the
/// kernel allows.
async fn non_reader(server: &TestServer) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(server.addr).await.unwrap()
}

fn echo(id: usize) -> String {
    let text = "x".repeat(CHUNK);
    let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                      "params": {"name": "echo", "arguments": {"text": text}}});
    call.to_string()
}

crate::both_runtimes! {
    async fn a_tcp_client_that_stops_reading_is_disconnected_after_the_write_stall_timeout() {
        let server = TestServer::start(config(), vec![]).await;
        let mut served = Client::connect(server.addr).await;
        served.initialize().await;
        let mut stuck = non_reader(&server).await;
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "stuck", "version": "0"}}});
        let mut lines = format!("{init}\n");
        for id in 1..=ASKED {
            lines.push_str(&echo(id));
            lines.push('\n');
        }
        // Written from a task of its own: the server stops reading too,
        // once its writes wait (its in-flight cap), so this write may
        // never finish.
        let writer = tokio::spawn(async move {
            let _ = stuck.write_all(lines.as_bytes()).await;
            stuck
        });
        let handle = &server.handle;
        wait_until("the stalled session counted", || handle.metrics().write_stalls == 1).await;
        wait_until("the stalled session gone", || handle.sessions().len() == 1).await;
        wait_until("its calls ended", || handle.metrics().requests_in_flight == 0).await;
        // The other client is served throughout.
        let echoed = served.call(2, "echo", json!({"text": "still here"})).await;
        assert_eq!(echoed["result"]["content"][0]["text"], "still here");
        writer.abort();
        let report = server.stop().await;
        assert_eq!(report.sessions_aborted, 0, "{report:?}");
    }
}

crate::both_runtimes! {
    async fn an_http_client_that_stops_reading_is_disconnected_after_the_write_stall_timeout() {
        let server = TestServer::start_http(config(), vec![]).await;
        let mut stuck = non_reader(&server).await;
        // 2026-07-28 calls, pipelined on one connection: hyper answers them
        // in turn, and the answers pile up unread.
        let mut requests = String::new();
        for id in 1..=ASKED {
            let mut call: serde_json::Value = serde_json::from_str(&echo(id)).unwrap();
            call["params"] = support::stateless(call["params"].take());
            let body = call.to_string();
            requests.push_str(&format!(
                "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
                 accept: application/json, text/event-stream\r\nmcp-protocol-version: 2026-07-28\r\n\
                 mcp-method: tools/call\r\nmcp-name: echo\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            ));
        }
        let writer = tokio::spawn(async move {
            let _ = stuck.write_all(requests.as_bytes()).await;
            stuck
        });
        let handle = &server.handle;
        wait_until("the stalled connection counted", || handle.metrics().write_stalls == 1).await;
        wait_until("the stalled connection closed", || {
            handle.metrics().http_connections_open == 0
        })
        .await;
        // Another client is served after it.
        let listed = support::http::post(
            server.addr,
            &[("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/list")],
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": support::stateless(json!({}))}),
        )
        .await
        .json()
        .await;
        assert!(listed["result"]["tools"].is_array(), "{listed}");
        writer.abort();
        let report = server.stop().await;
        assert_eq!(report.sessions_aborted, 0, "{report:?}");
    }
}
