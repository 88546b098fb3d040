//! Where state that outlives a replica is kept: the session store, which
//! holds what a 2025 HTTP session is (its record) so that any replica can
//! serve a request for it.
//!
//! Without a store (the default) a session lives only in the replica that
//! opened it, as before: nothing is written anywhere and a request that
//! names a session this replica does not hold is answered 404. With one
//! ([`ServerBuilder::session_store`](crate::ServerBuilder::session_store)),
//! a replica that receives a request for a session it does not hold loads
//! its record, starts a local copy of the session from it (a core session
//! like any other: a permit, an outbox, a task) and serves the request.
//!
//! What the request path pays: a request for a session the replica already
//! holds makes no store call. The record is saved when it changes
//! (`initialize`, `notifications/initialized`, `logging/setLevel`,
//! `resources/subscribe` and `unsubscribe`) before the POST that changed it
//! is answered, so a client's next request finds it wherever it lands.
//! Activity extends the record's life ([`SessionStore::touch`], at most a
//! few times per idle timeout, never waited for).
//!
//! The event store ([`EventStore`], see its module) keeps the events of
//! sessions' SSE streams, so that a broken stream can be resumed on any
//! replica.
//!
//! The task store ([`TaskStore`], see its module) keeps what tasks of the
//! tasks extension are, so that any replica answers `tasks/get`,
//! `tasks/update` and `tasks/cancel`.
//!
//! - [`MemoryStore`]: a store in this process's memory, shared by the
//!   servers given the same one (several servers in one process, tests).
//! - `RedisStore` (feature `redis-bus`): a store several processes share.

mod cell;
mod log;
mod memory;
mod tasks;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub(crate) use cell::RecordCell;

use crate::sync::{Arc, AtomicU64, Mutex, Ordering, Weak};
pub use log::{
    EventStore, LOGGED_EVENTS_PER_STREAM, LOGGED_STREAMS_PER_SESSION, LoggedEvent, LoggedStream, StreamKind,
    StreamLog,
};
pub use memory::{DEFAULT_MEMORY_STORE_RECORDS, MemoryStore};
pub use tasks::{TaskEvent, TaskEvents, TaskRecord, TaskStore};

/// What a store call returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// What a 2025 session is, as a store keeps it: enough for another replica
/// to serve its requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionRecord {
    /// The protocol version `initialize` settled on.
    pub protocol_version: String,
    /// True once the client sent `notifications/initialized`.
    pub initialized: bool,
    /// The `capabilities` the client declared in `initialize`.
    pub client_capabilities: Value,
    /// The `clientInfo` the client sent in `initialize`.
    pub client_info: Value,
    /// The log level the client asked for (`debug` until it asks).
    pub log_level: String,
    /// The resource URIs it subscribed to (`resources/subscribe`).
    pub subscriptions: Vec<String>,
    /// The caller that opened it, when requests are authenticated: only
    /// that caller may use it.
    pub owner: Option<SessionOwner>,
}

impl SessionRecord {
    /// The record of a session at `protocol_version` that has not yet sent
    /// `notifications/initialized`, with nothing else known of it (for a
    /// store's own tests).
    pub fn new(protocol_version: impl Into<String>) -> Self {
        Self {
            protocol_version: protocol_version.into(),
            initialized: false,
            client_capabilities: Value::Null,
            client_info: Value::Null,
            log_level: "debug".into(),
            subscriptions: Vec::new(),
            owner: None,
        }
    }
}

/// Who opened a session: what makes two principals the same caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionOwner {
    /// The token's issuer.
    pub issuer: String,
    /// The token's subject.
    pub subject: String,
    /// The OAuth client it was issued to, if the token says.
    pub client_id: Option<String>,
}

impl SessionOwner {
    /// The owner as a principal with no scopes, for the checks that
    /// compare callers.
    pub(crate) fn principal(&self) -> crate::auth::Principal {
        let principal = crate::auth::Principal::new(&self.issuer, &self.subject);
        match &self.client_id {
            Some(client) => principal.with_client_id(client),
            None => principal,
        }
    }
}

impl From<&crate::auth::Principal> for SessionOwner {
    fn from(principal: &crate::auth::Principal) -> Self {
        Self {
            issuer: principal.issuer.clone(),
            subject: principal.subject.clone(),
            client_id: principal.client_id.clone(),
        }
    }
}

/// Why a store call failed. Every failure is worth retrying later: the
/// store was unreachable, slow, or answered with something unreadable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state store: {0}")]
pub struct StoreError(pub String);

/// What one replica tells the others about a session it serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SessionEvent {
    /// The session was deleted: every replica ends its copy.
    Ended,
    /// The session's record changed (and was saved): every copy takes it
    /// up.
    Changed {
        /// The record as saved.
        record: SessionRecord,
    },
    /// The client answered request `id`, which the server had sent it:
    /// the replica whose call waits for the answer hands it over.
    Answered {
        /// The id of the server's request.
        id: crate::protocol::jsonrpc::RequestId,
        /// Its `result`, or its `error`.
        outcome: Result<Value, crate::protocol::jsonrpc::ErrorObject>,
    },
    /// A replica opened the session's standalone stream: every other copy
    /// relays what it has for that stream.
    Listening,
    /// A replica took the session up from the store (a new copy): the
    /// replica holding its standalone stream says [`SessionEvent::Listening`]
    /// again, for the new copy.
    Joined,
    /// A message for the session's standalone stream, relayed by a copy
    /// whose replica does not hold the stream: the copy that does not
    /// relay takes it.
    Relayed {
        /// The JSON-RPC message.
        message: String,
    },
    /// A client resumed request stream `stream` on a replica that did not
    /// write it, while its request may still run: the replica holding the
    /// stream (parked, its handler closed it) writes the rest of it to the
    /// event store, where the resuming replica reads it.
    Follow {
        /// The stream's number in its session.
        stream: u64,
    },
}

/// What a replica does with the events other replicas announce (the HTTP
/// service of a server with a session store registers one).
pub trait SessionEvents: Send + Sync + 'static {
    /// Acts on `event` about session `sid`; never waits.
    fn on_event(&self, sid: &str, event: SessionEvent);

    /// The store may have missed events (its subscription was lost and is
    /// back): every session held should be checked against its record.
    /// Never waits. The default does nothing.
    fn resync(&self) {}
}

/// Where a store's announcements go inside one process: every sink
/// attached but the one that announced. `S` is the kind of sink
/// ([`SessionEvents`] or [`TaskEvents`]).
pub(crate) struct Sinks<S: ?Sized = dyn SessionEvents> {
    sinks: Mutex<Vec<(u64, Weak<S>)>>,
    next: AtomicU64,
}

impl<S: ?Sized> Default for Sinks<S> {
    fn default() -> Self {
        Self {
            sinks: Mutex::new(Vec::new()),
            next: AtomicU64::new(0),
        }
    }
}

impl<S: ?Sized> fmt::Debug for Sinks<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sinks")
            .field("attached", &self.sinks.lock().len())
            .finish()
    }
}

impl<S: ?Sized> Sinks<S> {
    /// Adds `sink`; its origin (what its announcements are marked with).
    pub(crate) fn attach(&self, sink: Weak<S>) -> u64 {
        let origin = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut sinks = self.sinks.lock();
        sinks.retain(|(_, sink)| sink.strong_count() > 0);
        sinks.push((origin, sink));
        origin
    }

    /// Every live sink but `from`'s (0: all of them).
    fn live(&self, from: u64) -> Vec<Arc<S>> {
        self.sinks
            .lock()
            .iter()
            .filter(|(origin, _)| *origin != from)
            .filter_map(|(_, sink)| sink.upgrade())
            .collect()
    }
}

impl Sinks<dyn SessionEvents> {
    /// Asks every live sink to check its sessions against the store.
    #[cfg(all(feature = "redis-bus", not(shuttle)))]
    pub(crate) fn resync(&self) {
        for sink in self.live(0) {
            sink.resync();
        }
    }

    /// Hands `event` to every live sink but `from`'s (0: from elsewhere,
    /// to all).
    pub(crate) fn deliver(&self, from: u64, sid: &str, event: &SessionEvent) {
        for sink in self.live(from) {
            sink.on_event(sid, event.clone());
        }
    }
}

impl Sinks<dyn TaskEvents> {
    /// Hands `event` to every live sink but `from`'s (0: from elsewhere,
    /// to all).
    pub(crate) fn deliver_task(&self, from: u64, event: &TaskEvent) {
        for sink in self.live(from) {
            sink.on_task_event(event.clone());
        }
    }
}

/// Keeps session records, each for a time to live that activity extends.
///
/// Implementations never block the caller's thread; each call is bounded in
/// time by the store (a store that cannot answer fails).
pub trait SessionStore: Send + Sync + fmt::Debug + 'static {
    /// Saves `record` as session `sid`, for `ttl`.
    fn save<'a>(&'a self, sid: &'a str, record: &'a SessionRecord, ttl: Duration) -> StoreFuture<'a, ()>;

    /// The record of session `sid`, if it lives.
    fn load<'a>(&'a self, sid: &'a str) -> StoreFuture<'a, Option<SessionRecord>>;

    /// Removes session `sid` (it was deleted).
    fn remove<'a>(&'a self, sid: &'a str) -> StoreFuture<'a, ()>;

    /// Extends the life of session `sid` to `ttl` from now, without
    /// waiting. A touch may be lost (the store is down or too busy); the
    /// record then lives as long as its last touch said.
    fn touch(&self, sid: &str, ttl: Duration);

    /// Registers `sink`: events about sessions that other replicas (and
    /// other sinks of this store) announce reach it from then on. Returns
    /// the origin to announce with. The default keeps no sink: a store
    /// that carries no events.
    fn attach(&self, sink: Weak<dyn SessionEvents>) -> u64 {
        let _ = sink;
        0
    }

    /// Tells every other sink, in this process and in every replica that
    /// shares the store, `event` about session `sid`, without waiting.
    /// Best effort: an event may be lost (see the store's documentation).
    /// The default does nothing.
    fn announce(&self, origin: u64, sid: &str, event: &SessionEvent) {
        let _ = (origin, sid, event);
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    /// A sink that writes down the sessions it hears of.
    #[derive(Default)]
    struct Heard(Mutex<Vec<String>>);

    impl SessionEvents for Heard {
        fn on_event(&self, sid: &str, _event: SessionEvent) {
            self.0.lock().push(sid.to_owned());
        }
    }

    fn attach(sinks: &Sinks, sink: &Arc<Heard>) -> u64 {
        let weak: Weak<Heard> = Arc::downgrade(sink);
        sinks.attach(weak)
    }

    /// Each sink announces under an origin of its own, never 0 (which
    /// means "from elsewhere"); an announcement reaches every live sink
    /// but its announcer's, and sinks that died leave the list when the
    /// next one comes. Catches the origin counter made `* 1` (the first
    /// sink announces as 0 and hears itself) and the pruning inverted or
    /// made `>= 0` (live sinks lost, or dead ones kept for ever).
    #[test]
    fn an_announcement_reaches_every_live_sink_but_its_announcer() {
        let sinks = Sinks::default();
        let (a, b) = (Arc::new(Heard::default()), Arc::new(Heard::default()));
        let (from_a, from_b) = (attach(&sinks, &a), attach(&sinks, &b));
        assert!(
            from_a != 0 && from_b != 0 && from_a != from_b,
            "{from_a}, {from_b}"
        );
        sinks.deliver(from_a, "by-a", &SessionEvent::Ended);
        sinks.deliver(from_b, "by-b", &SessionEvent::Ended);
        sinks.deliver(0, "by-another-replica", &SessionEvent::Ended);
        assert_eq!(*a.0.lock(), ["by-b", "by-another-replica"]);
        assert_eq!(*b.0.lock(), ["by-a", "by-another-replica"]);
        for _ in 0..3 {
            attach(&sinks, &Arc::new(Heard::default()));
        }
        // a, b and the last one, which died after it was attached.
        assert_eq!(format!("{sinks:?}"), "Sinks { attached: 3 }");
        sinks.deliver(0, "later", &SessionEvent::Ended);
        assert_eq!((a.0.lock().len(), b.0.lock().len()), (3, 3));
    }
}
