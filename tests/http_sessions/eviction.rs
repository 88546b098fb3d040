//! Nobody locks others out: at `max_sessions`, a new client ends the least
//! recently active idle session rather than being refused; the evicted
//! client gets 404 and initializes again. Only when every session is busy
//! (a request running, a stream open) is a new client refused, at once.

use std::time::{Duration, Instant};

use http::StatusCode;
use mcp_server_core::ServerConfig;
use serde_json::json;

use super::support::TestServer;
use super::support::http::{self as client, Session};
use super::{call, reports_then_waits};

fn list(id: u64) -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"})
}

crate::both_runtimes! {
    async fn at_the_cap_the_least_recently_active_idle_session_makes_room() {
        let config = ServerConfig::default().max_sessions(3);
        let server = TestServer::start_http(config, vec![]).await;
        let addr = server.addr;
        let (a, b, c) = (
            Session::start(addr).await,
            Session::start(addr).await,
            Session::start(addr).await,
        );
        // a was opened first, but has been used since: b is the least recent.
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(a.post(&list(1)).await.status, StatusCode::OK);
        let started = Instant::now();
        let d = Session::start(addr).await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "admitted at once: {:?}",
            started.elapsed()
        );
        assert_eq!(
            b.post(&list(2)).await.status,
            StatusCode::NOT_FOUND,
            "b made room"
        );
        for kept in [&a, &c, &d] {
            assert_eq!(kept.post(&list(3)).await.status, StatusCode::OK);
        }
        assert_eq!(server.handle.metrics().sessions_evicted, 1);
        assert_eq!(server.handle.metrics().sessions_rejected, 0);
        // The evicted client initializes again (and someone idle makes room).
        let again = Session::start(addr).await;
        assert_eq!(again.post(&list(4)).await.status, StatusCode::OK);
        assert_eq!(server.handle.metrics().sessions_evicted, 2);
        assert_eq!(server.handle.metrics().sessions_active, 3);
        server.stop().await;
    }
}

crate::both_runtimes! {
    async fn with_every_session_busy_a_new_client_is_refused_at_once() {
        let config = ServerConfig::default().max_sessions(2);
        let server = TestServer::start_http(config, vec![reports_then_waits()]).await;
        let addr = server.addr;
        // One with a request running, one with its standalone stream open.
        let running = Session::start(addr).await;
        let mut waits = call(1, "reports_then_waits", json!({}));
        waits["params"]["_meta"] = json!({"progressToken": 1});
        let call = running.post(&waits).await;
        assert_eq!(call.status, StatusCode::OK);
        let streaming = Session::start(addr).await;
        let stream = streaming.listen().await;
        assert_eq!(stream.status, StatusCode::OK);
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}});
        let started = Instant::now();
        let refused = client::post(addr, &[], &init).await;
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "refused at once: {:?}",
            started.elapsed()
        );
        assert_eq!(refused.json().await["error"]["data"]["maxSessions"], 2);
        assert_eq!(server.handle.metrics().sessions_evicted, 0);
        // Both are still there.
        assert_eq!(running.post(&list(2)).await.status, StatusCode::OK);
        assert_eq!(streaming.post(&list(3)).await.status, StatusCode::OK);
        drop((call, stream));
        server.stop().await;
    }
}
