//! The limits of the Streamable HTTP transport, each with its default.

use std::time::Duration;

/// Default for [`HttpConfig::max_body_bytes`]: 4 MiB, as rmcp and the Python SDK use.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Default for [`HttpConfig::max_connections`]: open HTTP connections at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Default for [`HttpConfig::max_concurrent_requests`]: stateless (2026-07-28) requests running at once.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 1024;
/// Default for [`HttpConfig::session_idle_timeout`]: 30 minutes.
pub const DEFAULT_SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Default for [`HttpConfig::header_read_timeout`]: 10 s.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for [`HttpConfig::body_read_timeout`]: 30 s.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The names a request's `Host` (and, with a scheme, its `Origin`) may carry
/// by default: the loopback ones, so that DNS rebinding is refused.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// The limits of the Streamable HTTP transport.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes; a larger one gets 413.
    pub max_body_bytes: usize,
    /// HTTP connections open at once; one more is answered 503 and closed.
    pub max_connections: usize,
    /// Stateless (2026-07-28) requests running at once; one more gets 503.
    pub max_concurrent_requests: usize,
    /// A 2025 session with no request running and no stream open for this
    /// long ends (so does one that never finished `initialize`).
    pub session_idle_timeout: Duration,
    /// How long a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request's body once its
    /// headers are in; a slower one gets 408 and its connection is closed.
    pub body_read_timeout: Duration,
    /// Host names (without the port) a request's `Host` may name; empty
    /// allows any. Default: the loopback names.
    pub allowed_hosts: Vec<String>,
    /// Origins (`scheme://host[:port]`, or a bare host name meaning any
    /// scheme and port) a request's `Origin`, when present, may name; empty
    /// allows any. Default: the loopback names.
    pub allowed_origins: Vec<String>,
    /// Serve the server's metrics (OpenMetrics text) at `GET /metrics` on
    /// this listener too, behind the same `Host` and `Origin` checks.
    /// Default: off (`Server::serve_metrics` serves them on a listener of
    /// their own).
    pub metrics_endpoint: bool,
    /// Most 2025 sessions one authenticated caller may hold; at the quota
    /// its least recently active idle session ends to make room, and with
    /// none idle it is refused (429). Default: none (only `max_sessions`).
    pub max_sessions_per_principal: Option<usize>,
    /// Authorization: every request needs a bearer token that this
    /// accepts (see [`crate::auth`]). Default: none (anyone who passes the
    /// `Host` and `Origin` checks may call).
    #[cfg(all(feature = "auth", not(any(loom, shuttle))))]
    pub auth: Option<crate::auth::Auth>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_concurrent_requests: DEFAULT_MAX_CONCURRENT_REQUESTS,
            session_idle_timeout: DEFAULT_SESSION_IDLE_TIMEOUT,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            allowed_hosts: LOOPBACK_NAMES.iter().map(|&n| n.to_owned()).collect(),
            allowed_origins: LOOPBACK_NAMES.iter().map(|&n| n.to_owned()).collect(),
            metrics_endpoint: false,
            max_sessions_per_principal: None,
            #[cfg(all(feature = "auth", not(any(loom, shuttle))))]
            auth: None,
        }
    }
}

impl HttpConfig {
    /// Sets [`HttpConfig::max_body_bytes`] (at least 1 KiB).
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body_bytes = n.max(1024);
        self
    }

    /// Sets [`HttpConfig::max_connections`] (at least 1).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Sets [`HttpConfig::max_concurrent_requests`] (at least 1).
    pub fn max_concurrent_requests(mut self, n: usize) -> Self {
        self.max_concurrent_requests = n.max(1);
        self
    }

    /// Sets [`HttpConfig::session_idle_timeout`].
    pub fn session_idle_timeout(mut self, timeout: Duration) -> Self {
        self.session_idle_timeout = timeout;
        self
    }

    /// Sets [`HttpConfig::body_read_timeout`].
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Sets [`HttpConfig::header_read_timeout`].
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Sets [`HttpConfig::allowed_hosts`] (empty: any).
    pub fn allowed_hosts(mut self, hosts: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.allowed_hosts = hosts.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`HttpConfig::allowed_origins`] (empty: any).
    pub fn allowed_origins(mut self, origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.allowed_origins = origins.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`HttpConfig::metrics_endpoint`].
    pub fn metrics_endpoint(mut self, on: bool) -> Self {
        self.metrics_endpoint = on;
        self
    }

    /// Sets [`HttpConfig::max_sessions_per_principal`] (at least 1).
    pub fn max_sessions_per_principal(mut self, n: usize) -> Self {
        self.max_sessions_per_principal = Some(n.max(1));
        self
    }

    /// Sets [`HttpConfig::auth`].
    #[cfg(all(feature = "auth", not(any(loom, shuttle))))]
    pub fn auth(mut self, auth: crate::auth::Auth) -> Self {
        self.auth = Some(auth);
        self
    }
}
