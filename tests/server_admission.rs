//! Capacity over a real socket: connection `max_sessions + 1` is told the
//! server is at capacity, with the limit, and closed; a slot freed is reused.

#![cfg(not(any(loom, shuttle)))]

mod support;

use mcp_server_core::ServerConfig;
use support::{TestServer, error_code};

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
