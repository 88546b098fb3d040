//! How a [`RedisStore`](super::RedisStore) connects and how much it holds.

use std::time::Duration;

use crate::server::store::{LOGGED_EVENTS_PER_STREAM, LOGGED_STREAMS_PER_SESSION};

/// Default [`RedisStoreConfig::prefix`].
pub const DEFAULT_STORE_PREFIX: &str = "mcp-server-core:session:";
/// Default [`RedisStoreConfig::command_timeout`].
pub const DEFAULT_STORE_COMMAND_TIMEOUT: Duration = Duration::from_secs(1);
/// Default [`RedisStoreConfig::max_outstanding`].
pub const DEFAULT_STORE_MAX_OUTSTANDING: usize = 1024;
/// Default [`RedisStoreConfig::max_record_bytes`].
pub const DEFAULT_STORE_MAX_RECORD_BYTES: usize = 64 * 1024;

/// Default [`RedisStoreConfig::max_event_bytes`].
pub const DEFAULT_STORE_MAX_EVENT_BYTES: usize = 256 * 1024;
/// Default [`RedisStoreConfig::max_queued_appends`].
pub const DEFAULT_STORE_MAX_QUEUED_APPENDS: usize = 4096;

/// How a [`RedisStore`](super::RedisStore) connects and how much it holds.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisStoreConfig {
    /// Put before every session id to make its key; replicas that share it
    /// share sessions.
    pub prefix: String,
    /// Longest wait for a connection and for the answer to a command.
    pub command_timeout: Duration,
    /// Longest wait between two attempts to connect.
    pub max_backoff: Duration,
    /// How often the connection is checked with a `PING`.
    pub health_interval: Duration,
    /// Commands in flight at most; one more fails at once.
    pub max_outstanding: usize,
    /// The largest record saved, encoded; a larger one fails to save.
    pub max_record_bytes: usize,
    /// Events kept per stream (`MAXLEN`); older ones are trimmed.
    pub max_events_per_stream: usize,
    /// Streams kept per session; the oldest one is deleted for a new one.
    pub max_streams_per_session: usize,
    /// The largest event appended; a larger one is not kept (counted).
    pub max_event_bytes: usize,
    /// Appends waiting to be sent at most; one more is dropped (counted).
    pub max_queued_appends: usize,
}

impl Default for RedisStoreConfig {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_STORE_PREFIX.to_owned(),
            command_timeout: DEFAULT_STORE_COMMAND_TIMEOUT,
            max_backoff: Duration::from_secs(5),
            health_interval: Duration::from_secs(5),
            max_outstanding: DEFAULT_STORE_MAX_OUTSTANDING,
            max_record_bytes: DEFAULT_STORE_MAX_RECORD_BYTES,
            max_events_per_stream: LOGGED_EVENTS_PER_STREAM,
            max_streams_per_session: LOGGED_STREAMS_PER_SESSION,
            max_event_bytes: DEFAULT_STORE_MAX_EVENT_BYTES,
            max_queued_appends: DEFAULT_STORE_MAX_QUEUED_APPENDS,
        }
    }
}

impl RedisStoreConfig {
    /// Sets [`RedisStoreConfig::prefix`].
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets [`RedisStoreConfig::command_timeout`].
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// Sets [`RedisStoreConfig::max_backoff`].
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Sets [`RedisStoreConfig::health_interval`].
    pub fn health_interval(mut self, interval: Duration) -> Self {
        self.health_interval = interval;
        self
    }

    /// Sets [`RedisStoreConfig::max_outstanding`] (at least 1).
    pub fn max_outstanding(mut self, n: usize) -> Self {
        self.max_outstanding = n.max(1);
        self
    }

    /// Sets [`RedisStoreConfig::max_record_bytes`].
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// Sets [`RedisStoreConfig::max_events_per_stream`] (at least 1).
    pub fn max_events_per_stream(mut self, n: usize) -> Self {
        self.max_events_per_stream = n.max(1);
        self
    }

    /// Sets [`RedisStoreConfig::max_streams_per_session`] (at least 1).
    pub fn max_streams_per_session(mut self, n: usize) -> Self {
        self.max_streams_per_session = n.max(1);
        self
    }

    /// Sets [`RedisStoreConfig::max_event_bytes`].
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.max_event_bytes = bytes;
        self
    }

    /// Sets [`RedisStoreConfig::max_queued_appends`] (at least 1).
    pub fn max_queued_appends(mut self, n: usize) -> Self {
        self.max_queued_appends = n.max(1);
        self
    }
}
