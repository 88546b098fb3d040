//! Server configuration: every limit the server enforces, with its default.
//!
//! Each bound on memory or time in the server comes from a field here, so the
//! worst case of a session is a formula of this struct (see the README).

mod http;
mod replica;

use std::time::Duration;

pub use http::{
    DEFAULT_BODY_READ_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_CONCURRENT_REQUESTS, DEFAULT_MAX_CONNECTIONS, DEFAULT_SESSION_IDLE_TIMEOUT, HttpConfig,
};
#[cfg(not(loom))]
pub(crate) use replica::stamped;
pub use replica::{MAX_REPLICA_ID_BYTES, ReplicaId, StateKey};

/// Default for [`ServerConfig::max_sessions`]: live sessions at once.
pub const DEFAULT_MAX_SESSIONS: usize = 1024;
/// Default for [`ServerConfig::outbox_capacity`]: messages queued per session.
pub const DEFAULT_OUTBOX_CAPACITY: usize = 256;
/// Default for [`ServerConfig::max_in_flight_per_session`]: concurrent requests per session.
pub const DEFAULT_MAX_IN_FLIGHT_PER_SESSION: usize = 32;
/// Default for [`ServerConfig::max_frame_bytes`]: 4 MiB per JSON-RPC line.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;
/// Default for [`ServerConfig::request_timeout`]: 60 s.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Default for [`ServerConfig::shutdown_grace`]: 5 s.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Default for [`ServerConfig::listen_backlog`]: pending connections the kernel queues.
pub const DEFAULT_LISTEN_BACKLOG: u32 = 4096;
/// Default for [`ServerConfig::handshake_timeout`]: 5 s.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Default for [`ServerConfig::write_stall_timeout`]: 60 s.
pub const DEFAULT_WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`ServerConfig::client_request_timeout`].
pub const DEFAULT_CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`ServerConfig::request_state_ttl`].
pub const DEFAULT_REQUEST_STATE_TTL: Duration = Duration::from_secs(600);
/// Default [`ServerConfig::max_tasks`].
pub const DEFAULT_MAX_TASKS: usize = 1024;
/// Default [`ServerConfig::task_ttl`].
pub const DEFAULT_TASK_TTL: Duration = Duration::from_secs(3600);
/// Default [`ServerConfig::task_lease`].
pub const DEFAULT_TASK_LEASE: Duration = Duration::from_secs(10);
/// Default [`ServerConfig::page_size`].
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// Default [`ServerConfig::list_cache_ttl`].
pub const DEFAULT_LIST_CACHE_TTL: Duration = Duration::from_secs(60);

/// What happens to a notification when the session's outbox is full.
///
/// Responses to a client's own requests never take this path: they wait for
/// room instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FullPolicy {
    /// Drop the notification and count it in `messages_dropped`.
    #[default]
    Drop,
    /// Drop the notification, count it, and disconnect the slow client.
    Disconnect,
}

/// The limits and timings of a server.
///
/// Build it with [`ServerConfig::default`] and the setters:
///
/// ```
/// use mcp_server_core::ServerConfig;
/// let config = ServerConfig::default().max_sessions(100).outbox_capacity(64);
/// assert_eq!(config.max_sessions, 100);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Sessions admitted at once; connection `max_sessions + 1` is told the
    /// server is at capacity and closed.
    pub max_sessions: usize,
    /// Messages (responses and notifications) queued per session before
    /// notifications are dropped and responses wait.
    pub outbox_capacity: usize,
    /// What a full outbox does to a notification.
    pub full_policy: FullPolicy,
    /// Requests one session may have running at once; at the cap the server
    /// stops reading from that client.
    pub max_in_flight_per_session: usize,
    /// Longest accepted JSON-RPC line, in bytes (without the newline).
    pub max_frame_bytes: usize,
    /// How long a request may run before it is cancelled and answered with an error.
    pub request_timeout: Duration,
    /// How long shutdown waits for sessions to finish before aborting them.
    pub shutdown_grace: Duration,
    /// Listen backlog for TCP listeners the server binds itself.
    pub listen_backlog: u32,
    /// The limits of the Streamable HTTP transport.
    pub http: HttpConfig,
    /// Items per page of `tools/list`, `resources/list`,
    /// `resources/templates/list` and `prompts/list`.
    pub page_size: usize,
    /// How long a 2026-07-28 client may cache `server/discover`, the lists
    /// and `resources/read` (`ttlMs`). A change to the catalog while the
    /// server runs is announced at once (`list_changed`) to clients that
    /// listen; others may see the old list for up to this long. Zero: do
    /// not cache.
    pub list_cache_ttl: Duration,
    /// How long a handler waits for a client's answer to a request the
    /// server sent it (elicitation, sampling, roots; 2025 sessions).
    pub client_request_timeout: Duration,
    /// The keys of `requestState` (2026-07-28 multi-round-trip requests),
    /// newest first: the first seals, any of them opens. Replicas behind
    /// one load balancer must share them; none: a random key per process.
    /// To rotate across replicas, give every replica the new key second,
    /// then first, then drop the old one.
    pub request_state_keys: Vec<StateKey>,
    /// How long a `requestState` stays valid.
    pub request_state_ttl: Duration,
    /// Tasks (tasks extension) held at once; one more is refused at once.
    pub max_tasks: usize,
    /// How long a task is kept from its creation (its `ttlMs`).
    pub task_ttl: Duration,
    /// With a task store: how long other replicas take a running task's
    /// replica to be alive after it last said so (it says so every third
    /// of this). A running task whose replica has been silent longer is
    /// reported failed.
    pub task_lease: Duration,
    /// How long a TCP connection may take to send `initialize` (or a
    /// 2026-07-28 request, which needs none) before it is closed and
    /// counted in `handshake_timeouts`. stdio has no such limit: its client
    /// is the process that started the server.
    pub handshake_timeout: Duration,
    /// How long a write to a connection (a TCP line session, an HTTP
    /// connection) may make no progress before the connection is closed
    /// and what it carried cancelled: a client that stopped reading, or
    /// vanished while the server never heard of it. Any progress starts the
    /// wait again, so a slow reader is not cut; one that reads nothing is.
    /// Counted in `write_stalls`. stdio has no such limit, as for the
    /// handshake; nor has an [`crate::McpService`] mounted in a server of
    /// your own, whose connections are yours (`serve_http` has it).
    pub write_stall_timeout: Duration,
    /// This replica's name among several behind one load balancer: it
    /// starts every HTTP session id and task id (`<replica>.<random>`), so
    /// the balancer can send a 2025 session's requests and a task's
    /// `tasks/*` requests (`Mcp-Name`) to the replica that holds them.
    /// `None`: ids carry no replica name.
    pub replica_id: Option<ReplicaId>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_sessions: DEFAULT_MAX_SESSIONS,
            outbox_capacity: DEFAULT_OUTBOX_CAPACITY,
            full_policy: FullPolicy::Drop,
            max_in_flight_per_session: DEFAULT_MAX_IN_FLIGHT_PER_SESSION,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            listen_backlog: DEFAULT_LISTEN_BACKLOG,
            http: HttpConfig::default(),
            page_size: DEFAULT_PAGE_SIZE,
            list_cache_ttl: DEFAULT_LIST_CACHE_TTL,
            client_request_timeout: DEFAULT_CLIENT_REQUEST_TIMEOUT,
            request_state_keys: Vec::new(),
            request_state_ttl: DEFAULT_REQUEST_STATE_TTL,
            max_tasks: DEFAULT_MAX_TASKS,
            task_ttl: DEFAULT_TASK_TTL,
            task_lease: DEFAULT_TASK_LEASE,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            write_stall_timeout: DEFAULT_WRITE_STALL_TIMEOUT,
            replica_id: None,
        }
    }
}

impl ServerConfig {
    /// Sets [`ServerConfig::max_sessions`] (at least 1).
    pub fn max_sessions(mut self, n: usize) -> Self {
        self.max_sessions = n.max(1);
        self
    }

    /// Sets [`ServerConfig::outbox_capacity`] (at least 1).
    pub fn outbox_capacity(mut self, n: usize) -> Self {
        self.outbox_capacity = n.max(1);
        self
    }

    /// Sets [`ServerConfig::full_policy`].
    pub fn full_policy(mut self, policy: FullPolicy) -> Self {
        self.full_policy = policy;
        self
    }

    /// Sets [`ServerConfig::max_in_flight_per_session`] (at least 1).
    pub fn max_in_flight_per_session(mut self, n: usize) -> Self {
        self.max_in_flight_per_session = n.max(1);
        self
    }

    /// Sets [`ServerConfig::max_frame_bytes`] (at least 64).
    pub fn max_frame_bytes(mut self, n: usize) -> Self {
        self.max_frame_bytes = n.max(64);
        self
    }

    /// Sets [`ServerConfig::request_timeout`].
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets [`ServerConfig::shutdown_grace`].
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Sets [`ServerConfig::listen_backlog`].
    pub fn listen_backlog(mut self, backlog: u32) -> Self {
        self.listen_backlog = backlog;
        self
    }

    /// Sets [`ServerConfig::page_size`] (at least 1).
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// Sets [`ServerConfig::list_cache_ttl`].
    pub fn list_cache_ttl(mut self, ttl: Duration) -> Self {
        self.list_cache_ttl = ttl;
        self
    }

    /// Sets [`ServerConfig::client_request_timeout`].
    pub fn client_request_timeout(mut self, timeout: Duration) -> Self {
        self.client_request_timeout = timeout;
        self
    }

    /// Seals and opens `requestState` with `key` alone (see
    /// [`ServerConfig::request_state_keys`]).
    pub fn request_state_key(mut self, key: StateKey) -> Self {
        self.request_state_keys = vec![key];
        self
    }

    /// Sets [`ServerConfig::request_state_keys`], newest first.
    pub fn request_state_keys(mut self, keys: impl IntoIterator<Item = StateKey>) -> Self {
        self.request_state_keys = keys.into_iter().collect();
        self
    }

    /// Sets [`ServerConfig::request_state_ttl`].
    pub fn request_state_ttl(mut self, ttl: Duration) -> Self {
        self.request_state_ttl = ttl;
        self
    }

    /// Sets [`ServerConfig::write_stall_timeout`].
    pub fn write_stall_timeout(mut self, timeout: Duration) -> Self {
        self.write_stall_timeout = timeout;
        self
    }

    /// Sets [`ServerConfig::handshake_timeout`].
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets [`ServerConfig::replica_id`].
    pub fn replica_id(mut self, id: ReplicaId) -> Self {
        self.replica_id = Some(id);
        self
    }

    /// Sets [`ServerConfig::max_tasks`] (at least 1).
    pub fn max_tasks(mut self, n: usize) -> Self {
        self.max_tasks = n.max(1);
        self
    }

    /// Sets [`ServerConfig::task_ttl`].
    pub fn task_ttl(mut self, ttl: Duration) -> Self {
        self.task_ttl = ttl;
        self
    }

    /// Sets [`ServerConfig::task_lease`] (at least 30 ms).
    pub fn task_lease(mut self, lease: Duration) -> Self {
        self.task_lease = lease.max(Duration::from_millis(30));
        self
    }

    /// Sets [`ServerConfig::http`].
    pub fn http(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }
}
