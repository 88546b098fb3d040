//! Capacity over a real socket: connection `max_sessions + 1` is told the
//! server is at capacity, with the limit, and closed; a slot freed is reused;
//! a refused client that sent a request before it read gets the error too.

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::time::Duration;

use mcp_server_core::ServerConfig;
use serde_json::{Value, json};
use support::{HANG, TestServer, error_code};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

crate::both_runtimes! {
    async fn the_connection_over_the_limit_gets_the_capacity_error_and_is_closed() {
        let server = TestServer::start(ServerConfig::default().max_sessions(3), vec![]).await;
        let mut admitted = Vec::new();
        for _ in 0..3 {
            let mut client = server.client().await;
            client.initialize().await;
            admitted.push(client);
        }
        let mut refused = server.client().await;
        let error = refused
            .recv()
            .await
            .expect("the refused client gets an error first");
        assert_eq!(error_code(&error), -32000);
        let message = error["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("at capacity") && message.contains('3'),
            "{message}"
        );
        assert_eq!(error["error"]["data"]["maxSessions"], 3);
        refused.expect_closed().await;

        let metrics = server.handle.metrics();
        assert_eq!((metrics.sessions_active, metrics.sessions_rejected), (3, 1));
        assert_eq!(server.handle.available_permits(), 0);

        // A client leaves: its slot is free again.
        drop(admitted.pop());
        server
            .wait_for("the slot to be freed", |h| h.available_permits() == 1)
            .await;
        let mut next = server.client().await;
        next.initialize().await;
        assert_eq!(server.handle.sessions().len(), 3);

        let report = server.stop().await;
        assert_eq!(report.sessions_aborted, 0);
    }
}

crate::both_runtimes! {
    /// **A refused client that keeps sending still gets its error.** The
    /// client over the limit sends a 32 KiB request in eight writes, 10 ms
    /// apart, before it reads anything (as a client does with a large
    /// request on a slow link). Every write must succeed, and the client
    /// must then read the capacity error and a clean end of stream: the
    /// server reads and discards what the client sends for a moment before
    /// it closes, so the close is not a reset.
    ///
    /// Shown to catch (planted by hand; cargo-mutants survivors before this
    /// test): `reject` not reading the client's input before it closes
    /// (`drained < REJECT_DRAIN_BYTES` made `==`). The server then closes
    /// at once, the kernel answers the client's next bytes with a reset,
    /// and its next write fails (`Connection reset by peer`, or a broken
    /// pipe): a client that writes its whole request before reading never
    /// reads the error.
    async fn a_refused_client_that_keeps_sending_still_reads_its_error() {
        let server = TestServer::start(ServerConfig::default().max_sessions(1), vec![]).await;
        let mut admitted = server.client().await;
        admitted.initialize().await;

        let mut refused = TcpStream::connect(server.addr).await.expect("connect");
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "big", "version": "0"}, "pad": "p".repeat(32 * 1024)}});
        let mut line = request.to_string().into_bytes();
        line.push(b'\n');
        for (i, chunk) in line.chunks(line.len().div_ceil(8)).enumerate() {
            tokio::time::sleep(Duration::from_millis(10)).await;
            refused
                .write_all(chunk)
                .await
                .unwrap_or_else(|e| panic!("write {i} of the refused client's request: {e}"));
        }
        let mut received = Vec::new();
        tokio::time::timeout(HANG, refused.read_to_end(&mut received))
            .await
            .expect("the server closes the connection")
            .expect("a clean end of stream, not a reset");
        let text = String::from_utf8(received).expect("UTF-8");
        let mut lines = text.lines();
        let error: Value = serde_json::from_str(lines.next().expect("one line")).expect("JSON");
        assert_eq!(error_code(&error), -32000);
        assert_eq!(error["error"]["data"]["maxSessions"], 1);
        assert_eq!(lines.next(), None, "nothing after the error");
        assert_eq!(server.handle.metrics().sessions_rejected, 1);
        drop(admitted);
        server.stop().await;
    }
}
