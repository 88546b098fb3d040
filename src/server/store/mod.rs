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
//! - [`MemoryStore`]: a store in this process's memory, shared by the
//!   servers given the same one (several servers in one process, tests).
//! - `RedisStore` (feature `redis-bus`): a store several processes share.

mod cell;
mod memory;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub(crate) use cell::RecordCell;
pub use memory::{DEFAULT_MEMORY_STORE_RECORDS, MemoryStore};

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
#[error("session store: {0}")]
pub struct StoreError(pub String);

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
}
