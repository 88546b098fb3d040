//! `notify_client` and `broadcast` over real sockets: who receives what.

#![cfg(not(any(loom, shuttle)))]

mod support;

use mcp_server_core::{Notification, ServerConfig};
use serde_json::json;
use support::{TestServer, stateless};

crate::both_runtimes! {
    async fn notify_client_reaches_one_session_and_reports_gone_ones() {
        let server = TestServer::start(ServerConfig::default(), vec![]).await;
        let mut a = server.client().await;
        a.initialize().await;
        let mut b = server.client().await;
        b.initialize().await;
        let sessions = server.handle.sessions();
        assert_eq!(sessions.len(), 2);
        assert_eq!(sessions[0].protocol_version, Some("2025-11-25"));

        let note = Notification::new("notifications/tools/list_changed", None);
        server.handle.notify_client(sessions[0].id, &note).unwrap();
        assert_eq!(
            a.notification("notifications/tools/list_changed").await["jsonrpc"],
            "2.0"
        );
        // b got nothing: its next message is the answer to its ping.
        assert_eq!(b.request(1, "ping", json!({})).await["id"], 1);
        assert!(b.notifications.is_empty());

        drop(a);
        server.wait_for("a to go", |h| h.sessions().len() == 1).await;
        let gone = server.handle.notify_client(sessions[0].id, &note).unwrap_err();
        assert!(gone.is_gone());
        server.stop().await;
    }
}

crate::both_runtimes! {
    async fn broadcast_reaches_initialized_sessions_at_their_log_level() {
        let server = TestServer::start(ServerConfig::default(), vec![]).await;
        let mut all = server.client().await;
        all.initialize().await;
        let mut quiet = server.client().await;
        quiet.initialize().await;
        let set = quiet
            .request(1, "logging/setLevel", json!({"level": "error"}))
            .await;
        assert_eq!(set["result"], json!({}));
        let mut modern = server.client().await;
        modern.request(1, "tools/list", stateless(json!({}))).await;
        let mut fresh = server.client().await;
        fresh.request(1, "ping", json!({})).await;

        // Through the built-in tool, from the first client.
        let called = all
            .call(2, "broadcast", json!({"message": "hello", "level": "info"}))
            .await;
        let report = &called["result"]["structuredContent"];
        assert_eq!(report["delivered"], 1, "{called}");
        assert_eq!(report["dropped"], 0);
        let message = all.notification("notifications/message").await;
        assert_eq!(message["params"]["data"], "hello");
        assert_eq!(message["params"]["level"], "info");

        // An error-level message reaches the quiet one too.
        let report = server
            .handle
            .broadcast(&Notification::log("error", None, json!("bad news")));
        assert_eq!(report.queued, 2);
        assert_eq!(
            quiet.notification("notifications/message").await["params"]["data"],
            "bad news"
        );

        // Neither the stateless nor the uninitialized connection got anything.
        for client in [&mut modern, &mut fresh] {
            assert_eq!(client.request(9, "ping", json!({})).await["id"], 9);
            assert!(client.notifications.is_empty());
        }
        server.stop().await;
    }
}
