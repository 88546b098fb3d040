//! What servers sharing a session store tell each other about a session
//! they both hold: a DELETE through one ends the other's copy, a change
//! through one reaches the other's copy, and a client's answer to a
//! request one server sent it reaches that server through the other; and
//! a server whose store missed events checks its copies once told to.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use http::StatusCode;
use mcp_server_core::server::store::{MemoryStore, SessionEvents, SessionRecord, SessionStore, StoreFuture};
use mcp_server_core::{Server, ServerConfig};
use serde_json::json;

use crate::support::http::Session;
use crate::support::replicas::{
    ask, ask_answered_elsewhere, at, call_tool, echo, eliciting_session, log_info, text,
    until_info_is_silenced,
};
use crate::support::{TestServer, wait_until};

/// A server over HTTP with `log_info` and `ask`, keeping sessions in `store`.
async fn replica(store: &MemoryStore) -> TestServer {
    let server = Server::builder()
        .config(ServerConfig::default())
        .builtin_tools()
        .tool(log_info())
        .tool(ask())
        .session_store(Arc::new(store.clone()) as Arc<dyn SessionStore>)
        .build();
    TestServer::serve(server, true).await
}

crate::both_runtimes! {
    /// **A DELETE ends every copy.** Both servers hold the session; a
    /// DELETE through B ends A's copy too, so A answers 404 at once.
    async fn a_delete_through_one_server_ends_the_copy_on_another() {
        let store = MemoryStore::new();
        let (a, b) = (replica(&store).await, replica(&store).await);
        let session = Session::start(a.addr).await;
        assert_eq!(at(&session, b.addr).post(&echo(1, "b")).await.status, StatusCode::OK);
        assert_eq!((a.handle.sessions().len(), b.handle.sessions().len()), (1, 1));
        assert_eq!(at(&session, b.addr).delete().await, StatusCode::OK);
        wait_until("A's copy to end", || a.handle.sessions().is_empty()).await;
        assert_eq!(session.post(&echo(2, "a")).await.status, StatusCode::NOT_FOUND);
        a.stop().await;
        b.stop().await;
    }
}

crate::both_runtimes! {
    /// **A change reaches every copy.** Both servers hold the session; a
    /// `logging/setLevel` to `error` through B silences `info` logs on A.
    async fn a_change_through_one_server_reaches_the_copy_on_another() {
        let store = MemoryStore::new();
        let (a, b) = (replica(&store).await, replica(&store).await);
        let session = Session::start(a.addr).await;
        assert_eq!(text(&call_tool(&session, 1, "log_info").await), "sent: true");
        let on_b = at(&session, b.addr);
        assert_eq!(on_b.request(2, "logging/setLevel", json!({"level": "error"})).await["result"], json!({}));
        until_info_is_silenced(&session).await;
        a.stop().await;
        b.stop().await;
    }
}

crate::both_runtimes! {
    /// **An answer reaches the call that waits for it.** A tool on A asks
    /// the client (elicitation, on the call's stream); the client POSTs
    /// its answer to B, which holds no such request: B announces it and
    /// the call on A completes with it.
    async fn an_answer_posted_to_another_server_reaches_the_waiting_call() {
        let store = MemoryStore::new();
        let (a, b) = (replica(&store).await, replica(&store).await);
        let session = eliciting_session(a.addr).await;
        let result = ask_answered_elsewhere(&session, b.addr).await;
        assert_eq!(result["id"], 1);
        assert!(text(&result).contains("\"accept\""), "{result}");
        assert_eq!(a.handle.metrics().responses_unmatched, 0);
        a.stop().await;
        b.stop().await;
    }
}

crate::both_runtimes! {
    /// **An answer to this server's own call is taken here.** With a
    /// store, the client POSTs its answer to the server whose call waits
    /// for it: that server completes the call itself (a store announces
    /// to every server but the one that announced, so an answer announced
    /// instead would reach no one). Catches `Pending::waits_for` made
    /// `false`, which the test above lets by.
    async fn an_answer_posted_to_the_server_that_waits_is_taken_there() {
        let store = MemoryStore::new();
        let (a, b) = (replica(&store).await, replica(&store).await);
        let session = eliciting_session(a.addr).await;
        let result = ask_answered_elsewhere(&session, a.addr).await;
        assert_eq!(result["id"], 1);
        assert!(text(&result).contains("\"accept\""), "{result}");
        assert_eq!(a.handle.metrics().responses_unmatched, 0);
        a.stop().await;
        b.stop().await;
    }
}

/// A store that carries no events to its servers (as a Redis store whose
/// subscription was lost), and tells them to check their sessions
/// (`SessionEvents::resync`) when the test says the subscription is back.
#[derive(Debug, Default)]
struct Deaf {
    records: MemoryStore,
    sinks: Mutex<Vec<Weak<dyn SessionEvents>>>,
}

impl Deaf {
    fn back(&self) {
        let sinks = self.sinks.lock().unwrap().clone();
        sinks
            .iter()
            .filter_map(Weak::upgrade)
            .for_each(|sink| sink.resync());
    }
}

impl SessionStore for Deaf {
    fn save<'a>(&'a self, sid: &'a str, record: &'a SessionRecord, ttl: Duration) -> StoreFuture<'a, ()> {
        self.records.save(sid, record, ttl)
    }

    fn load<'a>(&'a self, sid: &'a str) -> StoreFuture<'a, Option<SessionRecord>> {
        self.records.load(sid)
    }

    fn remove<'a>(&'a self, sid: &'a str) -> StoreFuture<'a, ()> {
        self.records.remove(sid)
    }

    fn touch(&self, sid: &str, ttl: Duration) {
        self.records.touch(sid, ttl);
    }

    fn attach(&self, sink: Weak<dyn SessionEvents>) -> u64 {
        self.sinks.lock().unwrap().push(sink);
        0
    }
}

crate::both_runtimes! {
    /// **Missed events are made up for.** Both servers hold the session;
    /// a DELETE through B while the store carries no events leaves A's
    /// copy running, and once the store is back and asks A to resync, A
    /// finds the record gone and ends its copy.
    async fn a_server_that_missed_a_delete_ends_its_copy_on_resync() {
        let store = Arc::new(Deaf::default());
        let (a, b) = (deaf_replica(&store).await, deaf_replica(&store).await);
        let session = Session::start(a.addr).await;
        assert_eq!(at(&session, b.addr).post(&echo(1, "b")).await.status, StatusCode::OK);
        assert_eq!(at(&session, b.addr).delete().await, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(a.handle.sessions().len(), 1, "A heard nothing of the DELETE");
        store.back();
        wait_until("A's copy to end", || a.handle.sessions().is_empty()).await;
        assert_eq!(session.post(&echo(2, "a")).await.status, StatusCode::NOT_FOUND);
        a.stop().await;
        b.stop().await;
    }
}

async fn deaf_replica(store: &Arc<Deaf>) -> TestServer {
    let server = Server::builder()
        .config(ServerConfig::default())
        .builtin_tools()
        .session_store(Arc::clone(store) as Arc<dyn SessionStore>)
        .build();
    TestServer::serve(server, true).await
}
