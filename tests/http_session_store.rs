//! 2025 HTTP sessions kept in a session store: several servers that share
//! one serve each other's sessions (a request lands on a server that does
//! not hold the session, which resumes it from its record), a DELETE
//! anywhere ends the session for every server that does not hold it, a
//! record lives while the session is used and lapses after the idle
//! timeout, and a store that fails answers 503 without losing what it
//! acknowledged. Real sockets, real HTTP; the store is the in-process
//! `MemoryStore` (the Redis store has its own tests).

#![cfg(not(any(loom, shuttle)))]

#[path = "http_session_store/events.rs"]
mod events;
#[path = "http_session_store/streams.rs"]
mod streams;
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::StatusCode;
use mcp_server_core::config::HttpConfig;
use mcp_server_core::server::store::{MemoryStore, SessionRecord, SessionStore, StoreError, StoreFuture};
use mcp_server_core::{Server, ServerConfig};
use serde_json::{Value, json};
use support::http::{self as client, Session};
use support::replicas::{at, echo};
use support::{TestServer, wait_until};

/// A server with the built-in tools, over HTTP, keeping sessions in `store`.
async fn replica(store: Arc<dyn SessionStore>, config: ServerConfig) -> TestServer {
    let server = Server::builder()
        .config(config)
        .builtin_tools()
        .session_store(store)
        .build();
    TestServer::serve(server, true).await
}

crate::both_runtimes! {
    /// **Any server serves any session.** Opened on A, the session's
    /// requests are answered by B (which resumes it once) and by A again;
    /// a change made through B (`logging/setLevel`) is in the store before
    /// B answers it.
    async fn a_session_opened_on_one_server_is_served_by_another() {
        let store = MemoryStore::new();
        let a = replica(Arc::new(store.clone()), ServerConfig::default()).await;
        let b = replica(Arc::new(store.clone()), ServerConfig::default()).await;
        let session = Session::start(a.addr).await;
        let record = store.load(&session.id).await.unwrap().expect("saved on initialize");
        assert_eq!(record.protocol_version, "2025-11-25");
        assert!(record.initialized, "saved again on notifications/initialized");
        assert_eq!(record.client_info, json!({"name": "test", "version": "0"}));

        let on_b = at(&session, b.addr);
        for id in 1..=3 {
            let answer = on_b.post(&echo(id, "from b")).await;
            assert_eq!(answer.status, StatusCode::OK);
            assert_eq!(answer.json().await["result"]["content"][0]["text"], "from b");
        }
        assert_eq!(b.handle.metrics().sessions_resumed, 1, "resumed once, then held");
        assert_eq!(b.handle.sessions().len(), 1);
        let level = on_b.request(4, "logging/setLevel", json!({"level": "error"})).await;
        assert_eq!(level["result"], json!({}));
        let record = store.load(&session.id).await.unwrap().expect("still there");
        assert_eq!(record.log_level, "error", "the new level was saved before the answer");
        let answer = session.post(&echo(5, "from a")).await;
        assert_eq!(answer.json().await["result"]["content"][0]["text"], "from a");
        assert_eq!(a.handle.metrics().sessions_resumed, 0);
        a.stop().await;
        b.stop().await;
    }
}

crate::both_runtimes! {
    /// **DELETE anywhere ends it.** A DELETE sent to a server that does
    /// not hold the session removes its record, so a third server answers
    /// 404; so does a second DELETE.
    async fn a_delete_through_any_server_removes_the_record() {
        let store = MemoryStore::new();
        let servers = [
            replica(Arc::new(store.clone()), ServerConfig::default()).await,
            replica(Arc::new(store.clone()), ServerConfig::default()).await,
            replica(Arc::new(store.clone()), ServerConfig::default()).await,
        ];
        let session = Session::start(servers[0].addr).await;
        assert_eq!(at(&session, servers[1].addr).delete().await, StatusCode::OK);
        assert!(store.is_empty(), "the record is gone");
        let late = at(&session, servers[2].addr).post(&echo(1, "late")).await;
        assert_eq!(late.status, StatusCode::NOT_FOUND);
        assert_eq!(at(&session, servers[2].addr).delete().await, StatusCode::NOT_FOUND);
        assert_eq!(servers[2].handle.metrics().sessions_resumed, 0);
        wait_until("the server that resumed it to let it go", || {
            servers[1].handle.sessions().is_empty()
        })
        .await;
        for server in servers {
            server.stop().await;
        }
    }
}

/// A configuration whose sessions expire after `idle`.
fn idle_after(idle: Duration) -> ServerConfig {
    ServerConfig::default().http(HttpConfig::default().session_idle_timeout(idle))
}

crate::both_runtimes! {
    /// **A record lives while its session is used, and lapses when no
    /// server uses it.** With a 600 ms idle timeout: a session whose
    /// standalone stream stays open on A for three timeouts is still served
    /// by B; once nothing uses it for two timeouts, B answers 404 (its
    /// record lapsed) and no server holds it.
    async fn a_record_lives_while_in_use_and_lapses_when_idle() {
        let idle = Duration::from_millis(600);
        let store = MemoryStore::new();
        let a = replica(Arc::new(store.clone()), idle_after(idle)).await;
        let b = replica(Arc::new(store.clone()), idle_after(idle)).await;
        let session = Session::start(a.addr).await;
        let stream = session.listen().await;
        assert_eq!(stream.status, StatusCode::OK);
        tokio::time::sleep(idle * 3).await;
        let answer = at(&session, b.addr).post(&echo(1, "still here")).await;
        assert_eq!(answer.status, StatusCode::OK, "the open stream kept the record alive");
        drop(stream);
        tokio::time::sleep(idle * 2).await;
        let late = at(&session, b.addr).post(&echo(2, "gone")).await;
        assert_eq!(late.status, StatusCode::NOT_FOUND, "the record lapsed");
        wait_until("both servers to let it go", || {
            a.handle.sessions().is_empty() && b.handle.sessions().is_empty()
        })
        .await;
        a.stop().await;
        b.stop().await;
    }
}

/// **Requests keep a record alive.** With a 1.5 s idle timeout, a session
/// used only by short requests through A (one every 300 ms for three
/// timeouts, no stream left open) is still served by B: each request that
/// comes more than an eighth of the timeout after the last touch touches
/// the record. Caught by it, from the cargo-mutants run in
/// `analysis/model-checking.md`: `Upkeep::on_activity` doing nothing, or
/// touching only when the last touch was recent (`>=` made `<`).
#[tokio::test]
async fn requests_keep_a_record_alive() {
    let idle = Duration::from_millis(1500);
    let store = MemoryStore::new();
    let a = replica(Arc::new(store.clone()), idle_after(idle)).await;
    let b = replica(Arc::new(store.clone()), idle_after(idle)).await;
    let session = Session::start(a.addr).await;
    for id in 1..=15 {
        tokio::time::sleep(idle / 5).await;
        let answer = session.post(&echo(id, "busy")).await;
        assert_eq!(answer.status, StatusCode::OK);
    }
    let answer = at(&session, b.addr).post(&echo(16, "still here")).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "the requests kept the record alive"
    );
    a.stop().await;
    b.stop().await;
}

/// A store that fails while `down` is set, and otherwise keeps records in
/// a [`MemoryStore`].
#[derive(Debug, Default)]
struct Flaky {
    down: AtomicBool,
    records: MemoryStore,
}

impl Flaky {
    fn check(&self) -> Result<(), StoreError> {
        match self.down.load(Ordering::SeqCst) {
            true => Err(StoreError("down for the test".into())),
            false => Ok(()),
        }
    }
}

impl SessionStore for Flaky {
    fn save<'a>(&'a self, sid: &'a str, record: &'a SessionRecord, ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.check()?;
            self.records.save(sid, record, ttl).await
        })
    }

    fn load<'a>(&'a self, sid: &'a str) -> StoreFuture<'a, Option<SessionRecord>> {
        Box::pin(async move {
            self.check()?;
            self.records.load(sid).await
        })
    }

    fn remove<'a>(&'a self, sid: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.check()?;
            self.records.remove(sid).await
        })
    }

    fn touch(&self, sid: &str, ttl: Duration) {
        if self.check().is_ok() {
            self.records.touch(sid, ttl);
        }
    }
}

/// Asserts `response` is the store's 503: retryable, a JSON-RPC error.
async fn assert_unavailable(response: client::Open, id: Option<u64>) {
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers["retry-after"], "1");
    let body = response.json().await;
    assert_eq!(body["id"], id.map_or(Value::Null, Value::from));
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("down for the test") && message.contains("send the request again"),
        "{message}"
    );
}

crate::both_runtimes! {
    /// **A failing store refuses, fast and retryably, and loses nothing it
    /// acknowledged.** While the store is down: `initialize` is answered
    /// 503 and leaves no session behind; a change to a session (a
    /// `logging/setLevel`) is answered 503 and the record keeps the last
    /// level acknowledged; a request for a session this server does not
    /// hold is 503, not 404; a DELETE is 503 and the session goes on. Each
    /// refusal is counted. Once the store is back, every retry succeeds.
    async fn a_failing_store_answers_503_and_loses_nothing_acknowledged() {
        let flaky = Arc::new(Flaky::default());
        let a = replica(Arc::clone(&flaky) as Arc<dyn SessionStore>, ServerConfig::default()).await;
        let b = replica(Arc::clone(&flaky) as Arc<dyn SessionStore>, ServerConfig::default()).await;
        flaky.down.store(true, Ordering::SeqCst);
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"}}});
        let refused = client::post(a.addr, &[], &init).await;
        assert!(refused.headers.get("mcp-session-id").is_none());
        assert_unavailable(refused, Some(0)).await;
        wait_until("the unsaved session to end", || a.handle.sessions().is_empty()).await;

        flaky.down.store(false, Ordering::SeqCst);
        let session = Session::start(a.addr).await;
        let warn = session.request(1, "logging/setLevel", json!({"level": "warning"})).await;
        assert_eq!(warn["result"], json!({}));
        flaky.down.store(true, Ordering::SeqCst);
        let set = json!({"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": "error"}});
        assert_unavailable(session.post(&set).await, Some(2)).await;
        assert_unavailable(at(&session, b.addr).post(&echo(3, "x")).await, None).await;
        let delete = client::send(
            b.addr,
            http::Method::DELETE,
            &[("mcp-session-id", &session.id)],
            "",
        )
        .await;
        assert_unavailable(delete, None).await;
        assert_eq!(a.handle.metrics().store_failures, 2);
        assert_eq!(b.handle.metrics().store_failures, 2);
        let acknowledged = flaky.records.load(&session.id).await.unwrap().unwrap();
        assert_eq!(acknowledged.log_level, "warning", "the last level acknowledged");

        flaky.down.store(false, Ordering::SeqCst);
        assert_eq!(session.post(&set).await.status, StatusCode::OK);
        let saved = flaky.records.load(&session.id).await.unwrap().unwrap();
        assert_eq!(saved.log_level, "error", "the retry saved it");
        let answer = at(&session, b.addr).post(&echo(4, "back")).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(at(&session, b.addr).delete().await, StatusCode::OK);
        a.stop().await;
        b.stop().await;
    }
}

crate::both_runtimes! {
    /// **Without a store nothing changes**: a session lives only in the
    /// server that opened it; another answers 404.
    async fn without_a_store_a_session_is_the_opening_servers_alone() {
        let a = TestServer::start_http(ServerConfig::default(), vec![]).await;
        let b = TestServer::start_http(ServerConfig::default(), vec![]).await;
        let session = Session::start(a.addr).await;
        let elsewhere = at(&session, b.addr).post(&echo(1, "x")).await;
        assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
        assert_eq!(session.request(2, "ping", json!({})).await["result"], json!({}));
        a.stop().await;
        b.stop().await;
    }
}
