//! Streams resumed on a server that did not write them: servers that share
//! an event store (as well as a session store) append every event of a
//! session's streams to it, so that a client whose stream broke may send
//! its `Last-Event-ID` to any of them.

use std::sync::Arc;

use http::StatusCode;
use mcp_server_core::server::store::{EventStore, MemoryStore, SessionStore, StreamKind};
use mcp_server_core::{Notification, Server, ServerConfig, Tool};
use tokio::sync::Semaphore;

use crate::support::http::{Open, Session};
use crate::support::replicas::{at, call, echo, log_info, pause, paused_call};
use crate::support::{TestServer, wait_until};

/// A server over HTTP with `log_info`, keeping sessions and their streams'
/// events in `store`.
async fn replica(store: &MemoryStore) -> TestServer {
    replica_with(store, log_info()).await
}

/// A server over HTTP with `tool`, keeping sessions and their streams'
/// events in `store`.
async fn replica_with(store: &MemoryStore, tool: Tool) -> TestServer {
    let server = Server::builder()
        .config(ServerConfig::default())
        .builtin_tools()
        .tool(tool)
        .session_store(Arc::new(store.clone()) as Arc<dyn SessionStore>)
        .event_store(Arc::new(store.clone()) as Arc<dyn EventStore>)
        .build();
    TestServer::serve(server, true).await
}

/// The stream number of an event id `<stream>-<n>`.
fn stream_of(id: &str) -> &str {
    id.split('-').next().expect("an event id")
}

/// The next event of `open`: its id and data.
async fn next(open: &mut Open) -> (String, String) {
    let (id, data) = open.event().await.expect("an event");
    (id.expect("an event id"), data)
}

crate::both_runtimes! {
    /// **A request's stream, resumed elsewhere.** A call's stream on A
    /// carries the tool's log, then its result; a GET with the log's id
    /// sent to B replays the result (from the store: B never held the
    /// stream) and ends, as a request's stream does.
    async fn a_request_stream_written_on_one_server_is_resumed_on_another() {
        let store = MemoryStore::new();
        let (a, b) = (replica(&store).await, replica(&store).await);
        let session = Session::start(a.addr).await;
        let mut answer = session.post(&call(1, "log_info")).await;
        assert_eq!(answer.headers["content-type"], "text/event-stream");
        let (priming, _) = next(&mut answer).await;
        let stream = stream_of(&priming).to_owned();
        let (log_id, log) = next(&mut answer).await;
        assert!(log.contains("notifications/message"), "{log}");
        let (result_id, result) = next(&mut answer).await;
        assert!(result.contains("sent: true"), "{result}");
        assert_eq!((log_id.as_str(), result_id.as_str()), (&*format!("{stream}-1"), &*format!("{stream}-2")));

        let mut resumed = at(&session, b.addr).resume(&log_id).await;
        assert_eq!(resumed.status, StatusCode::OK);
        let (id, data) = next(&mut resumed).await;
        assert_eq!((id, data), (result_id, result), "the result, as A sent it");
        assert!(resumed.event().await.is_none(), "a request's stream ends with what was logged");
        let metrics = b.handle.metrics();
        assert_eq!((metrics.sessions_resumed, metrics.replay_lost), (1, 0));
        let kept = store.stream(&session.id, stream.parse().unwrap()).await.unwrap();
        assert_eq!(kept.expect("in the store").kind, StreamKind::Request);
        a.stop().await;
        b.stop().await;
    }
}

crate::both_runtimes! {
    /// **The standalone stream, resumed elsewhere.** A's standalone stream
    /// carried two notifications; resumed on B after the first, B's new
    /// standalone stream replays the second and then goes on live with
    /// B's own, numbered as a stream of B's (never one of A's numbers).
    async fn a_standalone_stream_written_on_one_server_goes_on_live_on_another() {
        let store = MemoryStore::new();
        let (a, b) = (replica(&store).await, replica(&store).await);
        let session = Session::start(a.addr).await;
        let mut listening = session.listen().await;
        let (priming, _) = next(&mut listening).await;
        let stream = stream_of(&priming).to_owned();
        let note = Notification::new("notifications/tools/list_changed", None);
        a.handle.broadcast(&note);
        a.handle.broadcast(&note);
        let (first, _) = next(&mut listening).await;
        let (second, _) = next(&mut listening).await;
        drop(listening);

        let mut resumed = at(&session, b.addr).resume(&first).await;
        assert_eq!(resumed.status, StatusCode::OK);
        let (priming, empty) = next(&mut resumed).await;
        assert_eq!(empty, "", "B's new stream primes first");
        let new_stream = stream_of(&priming).to_owned();
        assert_ne!(new_stream, stream);
        let (replayed, data) = next(&mut resumed).await;
        assert_eq!(replayed, second);
        assert!(data.contains("tools/list_changed"));
        wait_until("B to hold the session", || b.handle.sessions().len() == 1).await;
        b.handle.broadcast(&note);
        let (live, data) = next(&mut resumed).await;
        assert_eq!(live, format!("{new_stream}-1"));
        assert!(data.contains("tools/list_changed"));
        a.stop().await;
        b.stop().await;
    }
}

crate::both_runtimes! {
    /// **DELETE forgets the streams.** Once the session is deleted
    /// (through B), the store keeps none of its events.
    async fn a_delete_forgets_the_sessions_streams() {
        let store = MemoryStore::new();
        let (a, b) = (replica(&store).await, replica(&store).await);
        let session = Session::start(a.addr).await;
        let mut answer = session.post(&call(1, "log_info")).await;
        let (priming, _) = next(&mut answer).await;
        let stream: u64 = stream_of(&priming).parse().unwrap();
        while answer.event().await.is_some() {}
        assert!(store.stream(&session.id, stream).await.unwrap().is_some());
        assert_eq!(at(&session, b.addr).delete().await, StatusCode::OK);
        assert!(store.stream(&session.id, stream).await.unwrap().is_none());
        a.stop().await;
        b.stop().await;
    }
}

crate::both_runtimes! {
    /// **A request still running elsewhere, followed live.** A call on A
    /// closes its stream after progress 1 and goes on. Resumed on B with
    /// progress 1's id: A writes the rest of the parked stream to the
    /// store and B sends it as it comes, with A's event ids, until the
    /// answer, then ends.
    async fn a_stream_parked_on_one_server_is_followed_live_on_another() {
        let store = MemoryStore::new();
        let go = Arc::new(Semaphore::new(0));
        let a = replica_with(&store, pause(Arc::clone(&go))).await;
        let b = replica_with(&store, pause(Arc::clone(&go))).await;
        let session = Session::start(a.addr).await;
        let mut post = session.post(&paused_call(1)).await;
        let (priming, _) = next(&mut post).await;
        let stream = stream_of(&priming).to_owned();
        let (first, data) = next(&mut post).await;
        assert!(data.contains("\"progress\":1"), "{data}");
        assert!(post.event().await.is_none(), "the handler closed the stream");
        wait_until("A to park the stream", || a.handle.metrics().http_streams_parked == 1).await;

        let mut resumed = at(&session, b.addr).resume(&first).await;
        assert_eq!(resumed.status, StatusCode::OK);
        wait_until("A to write the stream to the store", || {
            a.handle.metrics().http_streams_parked == 0
        })
        .await;
        go.add_permits(1);
        let (id, data) = next(&mut resumed).await;
        assert_eq!(id, format!("{stream}-2"), "A's stream, numbered on");
        assert!(data.contains("\"progress\":2"), "{data}");
        go.add_permits(1);
        let (id, data) = next(&mut resumed).await;
        assert_eq!(id, format!("{stream}-3"));
        assert!(data.contains("done") && data.contains("\"id\":1"), "{data}");
        assert!(resumed.event().await.is_none(), "the stream ends with the answer");
        assert_eq!(b.handle.metrics().http_streams_followed, 1);

        // Resumed again after the answer: the store has it, B replays it
        // and ends at once.
        let mut again = at(&session, b.addr).resume(&first).await;
        let events: Vec<_> = [next(&mut again).await, next(&mut again).await].into();
        assert_eq!(events[1].0, format!("{stream}-3"));
        assert!(again.event().await.is_none());
        assert_eq!(b.handle.metrics().replay_lost, 0);
        assert_eq!(b.handle.metrics().http_streams_followed, 1, "an answered stream is not followed");
        a.stop().await;
        b.stop().await;
    }
}

crate::both_runtimes! {
    /// **The standalone stream's messages reach the replica that holds
    /// it.** B opens the standalone stream of a session A holds too: what
    /// A had queued for it, and what A raises while B holds it, reach it,
    /// relayed by A's copy. Opened next on A (after B's ended), A takes its
    /// receiver back from its relay and what B raises reaches A's stream,
    /// each message once.
    async fn what_a_copy_has_for_the_standalone_stream_reaches_the_replica_holding_it() {
        let store = MemoryStore::new();
        let (a, b) = (replica(&store).await, replica(&store).await);
        let session = Session::start(a.addr).await;
        assert_eq!(at(&session, b.addr).post(&echo(1, "b holds it")).await.status, StatusCode::OK);
        let tools = Notification::new("notifications/tools/list_changed", None);
        let prompts = Notification::new("notifications/prompts/list_changed", None);
        assert_eq!(a.handle.broadcast(&tools).queued, 1, "queued on A's copy");

        let mut on_b = at(&session, b.addr).listen().await;
        assert_eq!(on_b.status, StatusCode::OK);
        let (_, priming) = next(&mut on_b).await;
        assert_eq!(priming, "");
        let (_, queued) = next(&mut on_b).await;
        assert!(queued.contains("tools/list_changed"), "A's queue, relayed: {queued}");
        a.handle.broadcast(&prompts);
        let (_, live) = next(&mut on_b).await;
        assert!(live.contains("prompts/list_changed"), "raised on A, live: {live}");
        drop(on_b);
        // What B raises while its stream is still open goes to that stream.
        wait_until("B's stream to end", || b.handle.metrics().http_connections_open == 0).await;

        let mut on_a = session.listen().await;
        assert_eq!(on_a.status, StatusCode::OK, "A took its receiver back");
        let _priming = next(&mut on_a).await;
        b.handle.broadcast(&tools);
        let (_, relayed) = next(&mut on_a).await;
        assert!(relayed.contains("tools/list_changed"), "raised on B: {relayed}");
        a.handle.broadcast(&prompts);
        let (_, own) = next(&mut on_a).await;
        assert!(own.contains("prompts/list_changed"), "A's own, once: {own}");
        a.stop().await;
        b.stop().await;
    }
}

crate::both_runtimes! {
    /// **A copy taken up after the stream opened relays too.** A's client
    /// listens on A; B takes the session up later (a POST) and hears from
    /// A where the stream is: what B raises reaches A's stream.
    async fn a_copy_taken_up_after_the_stream_opened_relays_to_it() {
        let store = MemoryStore::new();
        let (a, b) = (replica(&store).await, replica(&store).await);
        let session = Session::start(a.addr).await;
        let mut on_a = session.listen().await;
        let _priming = next(&mut on_a).await;
        assert_eq!(a.handle.metrics().http_standalone_streams, 1);
        assert_eq!(at(&session, b.addr).post(&echo(1, "b takes it up")).await.status, StatusCode::OK);
        b.handle.broadcast(&Notification::new("notifications/tools/list_changed", None));
        let (_, relayed) = next(&mut on_a).await;
        assert!(relayed.contains("tools/list_changed"), "raised on B: {relayed}");
        assert_eq!(b.handle.metrics().http_standalone_streams, 0);
        drop(on_a);
        wait_until("A's stream to end", || a.handle.metrics().http_standalone_streams == 0).await;
        a.stop().await;
        b.stop().await;
    }
}

crate::both_runtimes! {
    /// **The standalone stream resumed on a relaying copy.** B held the
    /// stream (A relayed to it) and the client lost it: resumed on A with
    /// `Last-Event-ID`, A takes its receiver back from its relay and the
    /// stream goes on live there (as after B's death).
    async fn a_standalone_stream_resumed_on_a_relaying_copy_goes_on_there() {
        let store = MemoryStore::new();
        let (a, b) = (replica(&store).await, replica(&store).await);
        let session = Session::start(a.addr).await;
        assert_eq!(at(&session, b.addr).post(&echo(1, "b holds it")).await.status, StatusCode::OK);
        let tools = Notification::new("notifications/tools/list_changed", None);
        let mut on_b = at(&session, b.addr).listen().await;
        let _ = next(&mut on_b).await;
        a.handle.broadcast(&tools);
        let (last, _) = next(&mut on_b).await;
        drop(on_b);
        let mut on_a = session.resume(&last).await;
        assert_eq!(on_a.status, StatusCode::OK);
        let _priming = next(&mut on_a).await;
        a.handle.broadcast(&tools);
        let (_, data) = next(&mut on_a).await;
        assert!(data.contains("tools/list_changed"));
        a.stop().await;
        b.stop().await;
    }
}
