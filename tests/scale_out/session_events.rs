//! Replicas with Redis session stores telling each other about sessions
//! over Redis pub/sub: a DELETE ends every copy, a change reaches every
//! copy, a client's answer reaches the replica whose call waits for it, and
//! what a copy has for the standalone stream reaches the replica holding it.

use std::sync::Arc;

use http::StatusCode;
use mcp_server_core::store::{RedisStore, RedisStoreConfig};
use mcp_server_core::{Notification, Server, ServerConfig};
use serde_json::json;

use crate::session_store::raw;
use crate::support::http::Session;
use crate::support::replicas::{
    ask, ask_answered_elsewhere, at, echo, eliciting_session, log_info, text, until_info_is_silenced,
};
use crate::support::services::Redis;
use crate::support::{TestServer, wait_until};

/// A replica with its own store on `redis`, once subscribed to events.
async fn replica(redis: &Redis) -> (TestServer, Arc<RedisStore>) {
    let store = RedisStore::start(&redis.url(), RedisStoreConfig::default()).expect("a Redis address");
    wait_until("the store to connect and subscribe", || {
        let m = store.metrics();
        m.connected && m.subscribed
    })
    .await;
    let server = Server::builder()
        .config(ServerConfig::default())
        .builtin_tools()
        .tool(log_info())
        .tool(ask())
        .session_store(Arc::clone(&store) as _)
        .build();
    (TestServer::serve(server, true).await, store)
}

/// Redis, two replicas on it, and a session opened on A (whose client
/// answers elicitations) and held by B too.
struct Pair {
    redis: Redis,
    a: TestServer,
    a_store: Arc<RedisStore>,
    b: TestServer,
    session: Session,
}

async fn both_holding_a_session() -> Pair {
    let redis = Redis::start();
    let (a, a_store) = replica(&redis).await;
    let (b, _) = replica(&redis).await;
    let session = eliciting_session(a.addr).await;
    assert_eq!(
        at(&session, b.addr).post(&echo(2, "b")).await.status,
        StatusCode::OK
    );
    assert_eq!((a.handle.sessions().len(), b.handle.sessions().len()), (1, 1));
    Pair {
        redis,
        a,
        a_store,
        b,
        session,
    }
}

#[tokio::test]
#[ignore = "needs redis-server: ci/scale-out.sh runs it"]
async fn replicas_tell_each_other_about_sessions_over_redis() {
    // `_redis`, not `..`: Redis runs until the end of the test.
    let Pair {
        redis: _redis,
        a,
        a_store,
        b,
        session,
    } = both_holding_a_session().await;
    let result = ask_answered_elsewhere(&session, b.addr).await;
    assert!(
        text(&result).contains("\"accept\""),
        "the answer crossed: {result}"
    );

    let level = at(&session, b.addr)
        .request(3, "logging/setLevel", json!({"level": "error"}))
        .await;
    assert_eq!(level["result"], json!({}));
    until_info_is_silenced(&session).await;

    assert_eq!(at(&session, b.addr).delete().await, StatusCode::OK);
    wait_until("A's copy to end", || a.handle.sessions().is_empty()).await;
    assert_eq!(session.post(&echo(4, "a")).await.status, StatusCode::NOT_FOUND);
    let m = a_store.metrics();
    assert!(m.events_received >= 3, "answered, changed, ended: {m:?}");
    assert_eq!(m.events_dropped, 0);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
#[ignore = "needs redis-server: ci/scale-out.sh runs it"]
async fn a_replica_back_on_the_channel_checks_what_it_missed() {
    let Pair {
        redis,
        a,
        a_store,
        b,
        session,
    } = both_holding_a_session().await;
    // Deleted while no event could say so: the record goes, unannounced,
    // and then every subscription is cut.
    let key = format!("mcp-server-core:session:{}", session.id);
    assert_eq!(raw(&redis, &["DEL", &key]), ":1");
    assert!(raw(&redis, &["CLIENT", "KILL", "TYPE", "pubsub"]).starts_with(':'));
    wait_until("both copies to end once subscribed again", || {
        a.handle.sessions().is_empty() && b.handle.sessions().is_empty()
    })
    .await;
    assert!(a_store.metrics().subscribed, "subscribed again");
    assert_eq!(session.post(&echo(3, "a")).await.status, StatusCode::NOT_FOUND);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
#[ignore = "needs redis-server: ci/scale-out.sh runs it"]
async fn the_standalone_streams_messages_cross_to_the_replica_holding_it() {
    let Pair {
        redis: _redis,
        a,
        a_store,
        b,
        session,
    } = both_holding_a_session().await;
    let tools = Notification::new("notifications/tools/list_changed", None);
    let prompts = Notification::new("notifications/prompts/list_changed", None);
    let mut on_b = at(&session, b.addr).listen().await;
    assert_eq!(on_b.status, StatusCode::OK);
    // Raised on A: queued on A's copy until B's word reaches A, then
    // relayed.
    a.handle.broadcast(&tools);
    let relayed = on_b.message().await.expect("A's message on B's stream");
    assert_eq!(relayed["method"], "notifications/tools/list_changed");
    drop(on_b);
    wait_until("B's stream to end", || {
        b.handle.metrics().http_connections_open == 0
    })
    .await;

    let mut on_a = session.listen().await;
    assert_eq!(on_a.status, StatusCode::OK);
    b.handle.broadcast(&prompts);
    let relayed = on_a.message().await.expect("B's message on A's stream");
    assert_eq!(relayed["method"], "notifications/prompts/list_changed");
    a.handle.broadcast(&tools);
    let own = on_a.message().await.expect("A's own message");
    assert_eq!(
        own["method"], "notifications/tools/list_changed",
        "once each: {own}"
    );
    assert_eq!(a_store.metrics().events_dropped, 0);
    a.stop().await;
    b.stop().await;
}
