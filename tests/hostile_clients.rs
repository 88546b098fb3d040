//! Clients that try to hold the server's resources without using them,
//! over real sockets: a TCP connection that never initializes, HTTP
//! headers that never finish (slowloris), a body that never ends, a body
//! or headers over the limit, a body whose chunked encoding breaks. Each
//! is bounded by a limit of the configuration, answered or disconnected,
//! counted, and leaves nothing behind; well-behaved clients beside them
//! are served throughout.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::time::Duration;

use http::StatusCode;
use mcp_server_core::ServerConfig;
use mcp_server_core::config::HttpConfig;
use serde_json::json;
use support::http::{Session, post};
use support::{Client, HANG, TestServer, wait_until};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LIMIT: Duration = Duration::from_millis(300);

fn config() -> ServerConfig {
    ServerConfig::default().handshake_timeout(LIMIT).http(
        HttpConfig::default()
            .header_read_timeout(LIMIT)
            .body_read_timeout(LIMIT),
    )
}

/// Reads until the server closes the connection (panics after [`HANG`]);
/// what it sent before closing.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(HANG, stream.read(&mut buf))
            .await
            .expect("the server closes the connection in time")
            .unwrap_or(0);
        if n == 0 {
            return seen;
        }
        seen.extend_from_slice(&buf[..n]);
    }
}

crate::both_runtimes! {
    async fn a_tcp_client_that_never_initializes_is_disconnected_and_counted() {
        let server = TestServer::start(config(), vec![]).await;
        let mut silent = TcpStream::connect(server.addr).await.unwrap();
        // Pings are answered, but they are not a handshake.
        let pinger = Client::connect(server.addr).await;
        let mut initialized = Client::connect(server.addr).await;
        initialized.initialize().await;
        let mut stateless = Client::connect(server.addr).await;
        let listed = stateless
            .request(1, "tools/list", support::stateless(json!({})))
            .await;
        assert!(listed["result"]["tools"].is_array(), "{listed}");

        // Written by hand: once the server has closed, a write fails.
        let (mut answers, mut requests) = pinger.into_parts();
        let mut pings = 0;
        loop {
            let ping = format!("{{\"jsonrpc\":\"2.0\",\"id\":{pings},\"method\":\"ping\"}}\n");
            if requests.write_all(ping.as_bytes()).await.is_err() {
                break;
            }
            let mut line = String::new();
            let read = tokio::time::timeout(HANG, answers.read_line(&mut line))
                .await
                .expect("an answer or a disconnect in time");
            if !matches!(read, Ok(n) if n > 0) {
                break;
            }
            let answer: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(answer["id"], pings);
            pings += 1;
            assert!(pings < 100, "the pinger was never disconnected");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(pings > 0, "pings before the limit are answered");
        assert!(until_closed(&mut silent).await.is_empty());
        let handle = &server.handle;
        wait_until("both handshake timeouts counted", || {
            handle.metrics().handshake_timeouts == 2
        })
        .await;

        // The clients that engaged are served past the limit.
        tokio::time::sleep(LIMIT * 2).await;
        let echoed = initialized.call(2, "echo", json!({"text": "still here"})).await;
        assert_eq!(echoed["result"]["content"][0]["text"], "still here");
        let again = stateless
            .request(2, "tools/list", support::stateless(json!({})))
            .await;
        assert!(again["result"]["tools"].is_array());
        assert_eq!(handle.sessions().len(), 2, "the dropped sessions are gone");
        server.stop().await;
    }
}

crate::both_runtimes! {
    async fn slowloris_headers_are_cut_off_at_the_header_timeout() {
        let server = TestServer::start_http(config(), vec![]).await;
        let mut slow = TcpStream::connect(server.addr).await.unwrap();
        slow.write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n")
            .await
            .unwrap();
        // One more header line now and then, never the blank line.
        let trickle = async {
            for i in 0..100 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                if slow
                    .write_all(format!("X-Slow-{i}: 1\r\n").as_bytes())
                    .await
                    .is_err()
                {
                    break;
                }
            }
        };
        tokio::time::timeout(HANG, trickle).await.unwrap();
        until_closed(&mut slow).await;
        let handle = &server.handle;
        wait_until("the header timeout counted", || {
            handle.metrics().http_header_timeouts == 1
        })
        .await;
        // Meanwhile the server serves others.
        let session = Session::start(server.addr).await;
        assert_eq!(session.delete().await, StatusCode::OK);
        server.stop().await;
    }
}

crate::both_runtimes! {
    async fn a_body_that_never_ends_gets_408_and_the_connection_is_closed() {
        let server = TestServer::start_http(config(), vec![]).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let head = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
                    Accept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\":";
        stream.write_all(head.as_bytes()).await.unwrap();
        let answer = String::from_utf8(until_closed(&mut stream).await).unwrap();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert_eq!(server.handle.metrics().http_body_timeouts, 1);
        assert_eq!(server.handle.sessions().len(), 0);
        server.stop().await;
    }
}

crate::both_runtimes! {
    async fn bodies_and_headers_over_the_limits_are_refused() {
        let limits = config().http(
            HttpConfig::default()
                .max_body_bytes(1024)
                .header_read_timeout(LIMIT)
                .body_read_timeout(LIMIT),
        );
        let server = TestServer::start_http(limits, vec![]).await;
        let big = json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "x".repeat(4096)}});
        assert_eq!(
            post(server.addr, &[], &big).await.status,
            StatusCode::PAYLOAD_TOO_LARGE
        );

        let huge_header = "y".repeat(128 * 1024);
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let request = format!(
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: {huge_header}\r\nContent-Length: 2\r\n\r\n{{}}"
        );
        // The server may close before it has read everything we send.
        let _ = stream.write_all(request.as_bytes()).await;
        let answer = String::from_utf8_lossy(&until_closed(&mut stream).await).into_owned();
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer:.200}");

        // A body that breaks its chunked encoding is a bad request, not
        // one over the limit.
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        let request = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
                       Accept: application/json, text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n\
                       zz\r\n{}\r\n0\r\n\r\n";
        let _ = stream.write_all(request.as_bytes()).await;
        let answer = String::from_utf8_lossy(&until_closed(&mut stream).await).into_owned();
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer:.300}");
        assert!(answer.contains("reading the body failed"), "{answer:.300}");
        // Neither left a session or a connection behind.
        let session = Session::start(server.addr).await;
        assert_eq!(server.handle.sessions().len(), 1);
        assert_eq!(session.delete().await, StatusCode::OK);
        server.stop().await;
    }
}

crate::both_runtimes! {
    async fn a_listen_stream_that_is_never_read_stays_bounded() {
        let server = TestServer::start_http(config().outbox_capacity(8), vec![]).await;
        let uri = format!("big://{}", "u".repeat(10_000));
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "subscriptions/listen",
                          "params": support::http::stateless_params(json!({
                              "notifications": {"resourceSubscriptions": [uri]}}))})
        .to_string();
        let request = format!(
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\n\
             Mcp-Method: subscriptions/listen\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        // A client that sends its listen request and never reads a byte.
        let mut silent = TcpStream::connect(server.addr).await.unwrap();
        silent.write_all(request.as_bytes()).await.unwrap();
        let handle = &server.handle;
        wait_until("the stream is registered", || handle.listeners().len() == 1).await;
        // 20 MB of notifications for it: far more than the socket buffers hold.
        for _ in 0..2_000 {
            handle.resource_updated(&uri);
        }
        wait_until("drops are counted", || handle.metrics().messages_dropped > 0).await;
        // Others are served meanwhile.
        let session = Session::start(server.addr).await;
        assert_eq!(session.delete().await, StatusCode::OK);
        drop(silent);
        wait_until("the stream is gone with its client", || {
            handle.listeners().is_empty()
        })
        .await;
        server.stop().await;
    }
}
