//! Streamable HTTP, on hyper, for both protocol generations.
//!
//! [`McpService`] answers MCP requests: a hyper and tower service that a
//! user mounts in their own hyper or axum stack, behind their own layers.
//! [`Server::serve_http`] is the built-in driver that serves it (at
//! [`ENDPOINT`]) on any listener (`driver.rs`).
//!
//! - 2025 (`initialize`, `Mcp-Session-Id`): each session is a core session
//!   (`session`); a request is answered on its own POST, as JSON or as an
//!   SSE stream; a GET opens the session's standalone stream; DELETE ends
//!   it.
//! - 2026-07-28: each POST stands alone (`stateless`), holding a permit of
//!   the stateless-request gate while it runs.
//!
//! Every cap answers at once and is counted: `max_sessions` and
//! `max_concurrent_requests` (503 with a JSON-RPC error naming the limit),
//! `max_body_bytes` (413); with the built-in driver, `max_connections` (503
//! and close) too, and headers must arrive within `header_read_timeout`.
//!
//! Shutdown: the accept loop stops; every session, request and stream sees
//! its token cancelled, so every SSE body ends; each connection is shut
//! down gracefully; all within `shutdown_grace`, after which stragglers are
//! aborted.

#[cfg(feature = "auth")]
mod authn;
mod body;
mod cancel;
mod entry;
mod events;
mod evict;
mod follow;
mod headers;
mod keepalive;
mod listen;
#[cfg(feature = "metrics")]
mod metrics;
mod parked;
mod relay;
mod replay;
mod service;
mod session;
mod session_task;
mod sse;
mod standalone;
mod stateless;
mod stored;
mod watch;

#[cfg(fuzzing)]
mod fuzzing;

/// For the fuzz targets (`crate::fuzzing`).
#[cfg(fuzzing)]
pub(crate) use fuzzing::{serve_io, sse_events};
/// For the fuzz targets (`crate::fuzzing`).
#[cfg(fuzzing)]
pub(crate) use replay::parse_event_id;

/// For the fuzz targets (`crate::fuzzing`): a header value decoded as the
/// transport reads it.
#[cfg(fuzzing)]
pub(crate) fn decoded_header(value: &str) -> Option<String> {
    headers::decoded(value).ok()
}

mod driver;

pub use service::{McpBody, McpFuture, McpService};

use http::StatusCode;
use tokio::task::JoinSet;

use crate::protocol::jsonrpc::{ErrorObject, RequestId, SERVER_AT_CAPACITY};
use crate::server::Server;
use crate::server::store::SessionEvents;
use crate::sync::{Arc, Mutex, Weak};

/// The path the built-in driver ([`Server::serve_http`]) serves MCP at.
pub const ENDPOINT: &str = "/mcp";
/// Largest request head (request line and headers) hyper buffers; a larger
/// one is answered 431.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// What every request of one [`McpService`] shares.
pub(crate) struct Http {
    server: Server,
    sessions: entry::Sessions,
    /// The tasks of the HTTP sessions, for the drain.
    session_tasks: Mutex<JoinSet<()>>,
    /// What this service's announcements to the session store are marked
    /// with (0 without a store).
    origin: u64,
}

impl Http {
    /// The state of a new service, registered with the server's session
    /// store (if any) for what other replicas announce.
    fn new(server: Server) -> Arc<Self> {
        Arc::new_cyclic(|me: &Weak<Self>| {
            let origin = server.shared.session_store.as_ref().map_or(0, |store| {
                let sink: Weak<dyn SessionEvents> = me.clone();
                store.attach(sink)
            });
            Self {
                server,
                sessions: entry::Sessions::default(),
                session_tasks: Mutex::new(JoinSet::new()),
                origin,
            }
        })
    }

    /// Starts a session's task (and reaps the ones that have ended).
    fn spawn_session(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut tasks = self.session_tasks.lock();
        while tasks.try_join_next().is_some() {}
        tasks.spawn(task);
    }
}

/// Admits and registers a core session for an HTTP client (a 2025 session
/// or a listen stream), or the 503 that refuses it, answering request `id`.
fn admit(
    http: &Http,
    id: Option<&RequestId>,
) -> Result<(crate::core::Session, crate::core::OutboxReceiver), Box<http::Response<body::Body>>> {
    let core = &http.server.shared.core;
    core.admit()
        .and_then(|permit| core.register(permit))
        .map_err(|error| {
            let body = ErrorObject::new(SERVER_AT_CAPACITY, error.to_string())
                .with_data(serde_json::json!({"maxSessions": core.max_sessions()}));
            Box::new(body::error(StatusCode::SERVICE_UNAVAILABLE, id, &body))
        })
}
