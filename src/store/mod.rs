//! Stores shared by several replicas: the backends of the server's
//! [`SessionStore`] and [`EventStore`] seams (`crate::server::store`,
//! re-exported here), which let any replica serve any 2025 HTTP session and
//! resume any of its streams.
//!
//! - [`MemoryStore`]: this process's memory (several servers in one
//!   process).
//! - `RedisStore` (feature `redis-bus`): Redis, for replicas in separate
//!   processes.

#[cfg(all(feature = "redis-bus", not(shuttle)))]
mod redis;

#[cfg(all(feature = "redis-bus", not(shuttle)))]
pub use self::redis::{
    DEFAULT_STORE_COMMAND_TIMEOUT, DEFAULT_STORE_MAX_EVENT_BYTES, DEFAULT_STORE_MAX_OUTSTANDING,
    DEFAULT_STORE_MAX_QUEUED_APPENDS, DEFAULT_STORE_MAX_RECORD_BYTES, DEFAULT_STORE_PREFIX, RedisStore,
    RedisStoreConfig, StoreMetrics,
};
pub use crate::server::store::{
    DEFAULT_MEMORY_STORE_RECORDS, EventStore, LOGGED_EVENTS_PER_STREAM, LOGGED_STREAMS_PER_SESSION,
    LoggedEvent, LoggedStream, MemoryStore, SessionOwner, SessionRecord, SessionStore, StoreError,
    StoreFuture, StreamKind,
};
