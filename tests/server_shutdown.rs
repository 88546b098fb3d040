//! Shutdown with clients connected and requests in flight: every client sees
//! its connection closed, every handler sees its cancellation, the registry
//! empties, every permit comes back, and `serve_tcp` returns its report
//! (its JSON form gives the time in milliseconds).

#![cfg(not(any(loom, shuttle)))]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mcp_server_core::ServerConfig;
use serde_json::json;
use support::{TestServer, patient};

crate::both_runtimes! {
    async fn shutdown_with_clients_connected_closes_everything_and_reports() {
        let seen = Arc::new(AtomicUsize::new(0));
        let config = ServerConfig::default().max_sessions(50);
        let server = TestServer::start(config, vec![patient(Arc::clone(&seen))]).await;
        let mut clients = Vec::new();
        for i in 0..20 {
            let mut client = server.client().await;
            client.initialize().await;
            if i % 2 == 0 {
                client
                    .send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "patient"}}))
                    .await;
            }
            clients.push(client);
        }
        server
            .wait_for("the calls to start", |h| h.metrics().requests_in_flight == 10)
            .await;

        let handle = server.handle.clone();
        let report = server.stop().await;
        assert_eq!(report.sessions_closed, 20);
        assert_eq!(report.sessions_aborted, 0);
        // As JSON (what an operator logs or serves), the time in milliseconds.
        let json = serde_json::to_value(report).expect("a report serializes");
        assert_eq!(json["sessions_closed"], 20);
        assert_eq!(json["sessions_aborted"], 0);
        let ms = json["elapsed"].as_f64().expect("elapsed is a number");
        assert!(
            (ms - report.elapsed.as_secs_f64() * 1000.0).abs() < 1e-6 && report.elapsed.as_micros() > 0,
            "elapsed {:?} as JSON: {ms}",
            report.elapsed
        );
        for client in &mut clients {
            client.expect_closed().await;
        }
        assert_eq!(seen.load(Ordering::SeqCst), 10);
        assert!(handle.sessions().is_empty());
        assert_eq!(handle.available_permits(), 50);
        let metrics = handle.metrics();
        assert_eq!((metrics.sessions_active, metrics.requests_in_flight), (0, 0));
        assert_eq!(metrics.requests_cancelled, 10);

        // After shutdown nobody is admitted.
        assert!(handle.is_shutting_down());
    }
}
