//! Streamable HTTP, on hyper, for both protocol generations, at [`ENDPOINT`].
//!
//! - 2025 (`initialize`, `Mcp-Session-Id`): each session is a core session
//!   (`session`); a request is answered on its own POST, as JSON or as an
//!   SSE stream; a GET opens the session's standalone stream; DELETE ends
//!   it.
//! - 2026-07-28: each POST stands alone (`stateless`), holding a permit of
//!   the stateless-request gate while it runs.
//!
//! Every cap answers at once and is counted: `max_connections` (503 and
//! close), `max_sessions` and `max_concurrent_requests` (503 with a
//! JSON-RPC error naming the limit), `max_body_bytes` (413). Headers must
//! arrive within `header_read_timeout`.
//!
//! Shutdown: the accept loop stops; every session, request and stream sees
//! its token cancelled, so every SSE body ends; each connection is shut
//! down gracefully; all within `shutdown_grace`, after which stragglers are
//! aborted.

mod body;
mod headers;
mod listen;
mod metrics;
mod parked;
mod replay;
mod service;
mod session;
mod stateless;
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

use std::convert::Infallible;
use std::time::Duration;

use http::StatusCode;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::metrics::{decr, incr};
use crate::protocol::jsonrpc::{ErrorObject, RequestId, SERVER_AT_CAPACITY};
use crate::server::{Server, ShutdownReport};
use crate::sync::{Arc, CancellationToken, Mutex, Semaphore};

/// The path MCP is served at.
pub const ENDPOINT: &str = "/mcp";
/// Pause after an `accept` error before accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// Largest request head (request line and headers) hyper buffers; a larger
/// one is answered 431.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Why the accept loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AcceptQuit {
    Shutdown,
}

/// What every connection of one HTTP listener shares.
pub(crate) struct Http {
    server: Server,
    sessions: session::Sessions,
    /// One permit per open connection (`max_connections`).
    connections: Arc<Semaphore>,
    /// The tasks of the HTTP sessions, for the drain.
    session_tasks: Mutex<JoinSet<()>>,
}

impl Http {
    /// Starts a session's task (and reaps the ones that have ended).
    fn spawn_session(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut tasks = self.session_tasks.lock();
        while tasks.try_join_next().is_some() {}
        tasks.spawn(task);
    }
}

impl Server {
    /// Serves MCP over Streamable HTTP on `listener` (at [`ENDPOINT`]) until
    /// [`crate::ServerHandle::shutdown`] is called, then drains and returns
    /// the report (its sessions are the HTTP sessions).
    ///
    /// One server may serve TCP and HTTP at once (`serve_tcp` and
    /// `serve_http` on clones of it): they share one core and one admission
    /// limit.
    pub async fn serve_http(&self, listener: TcpListener) -> ShutdownReport {
        let config = &self.shared.config;
        let http = Arc::new(Http {
            server: self.clone(),
            sessions: session::Sessions::default(),
            connections: Arc::new(Semaphore::new(config.http.max_connections)),
            session_tasks: Mutex::new(JoinSet::new()),
        });
        let shutdown = self.shared.core.shutdown_token();
        let mut connections: JoinSet<()> = JoinSet::new();
        let quit = loop {
            tokio::select! {
                biased;
                // Cancel-safe: only waits.
                () = shutdown.cancelled() => break AcceptQuit::Shutdown,
                // Cancel-safe: unfinished tasks stay in the set.
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                // Cancel-safe: TcpListener::accept.
                accepted = listener.accept() => match accepted {
                    Ok((stream, _peer)) => {
                        super::tcp::tune(&stream);
                        connections.spawn(connection(Arc::clone(&http), stream, shutdown.clone()));
                    }
                    Err(e) => {
                        incr(&self.shared.core.metrics_ref().accept_errors);
                        tracing::warn!(error = %e, "HTTP accept failed; retrying");
                        tokio::select! {
                            // Cancel-safe: only waits.
                            () = shutdown.cancelled() => {}
                            // Cancel-safe: a timer.
                            () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                        }
                    }
                },
            }
        };
        tracing::info!(?quit, "HTTP accept loop stopped; draining sessions");
        drop(listener);
        let deadline = tokio::time::Instant::now() + config.shutdown_grace;
        let sessions = std::mem::take(&mut *http.session_tasks.lock());
        let report = self.drain(sessions, 0).await;
        // Every stream has ended with its session or request; the
        // connections close once their last response is written.
        if tokio::time::timeout_at(deadline, async {
            while connections.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            tracing::warn!(
                remaining = connections.len(),
                "HTTP connections still open; aborting"
            );
            connections.abort_all();
        }
        report
    }
}

/// Serves one connection until it closes, or shuts it down gracefully when
/// the server does.
async fn connection(http: Arc<Http>, stream: TcpStream, shutdown: CancellationToken) {
    let metrics = Arc::clone(http.server.shared.core.metrics_ref());
    incr(&metrics.http_connections_accepted);
    let _open = OpenConnection::new(Arc::clone(&metrics));
    let permit = Semaphore::try_acquire_owned(Arc::clone(&http.connections)).ok();
    let at_capacity = permit.is_none();
    if at_capacity {
        incr(&metrics.connections_rejected);
    }
    let config = &http.server.shared.config;
    let grace = config.shutdown_grace;
    let (stream, watch) = watch::share(stream, Arc::clone(&metrics));
    let service = {
        let http = Arc::clone(&http);
        service_fn(move |request| {
            let (http, watch) = (Arc::clone(&http), watch.clone());
            // Boxed, and made here rather than in the future below: hyper
            // keeps room for that future in every connection, idle or not,
            // so it holds only the box; a request's state (about 3 KiB)
            // lives only while it runs.
            let handle = (!at_capacity).then(|| Box::pin(service::handle(Arc::clone(&http), request)));
            async move {
                let response = match handle {
                    None => busy(http.server.shared.config.http.max_connections),
                    Some(handle) => tokio::select! {
                        biased;
                        // Cancel-safe: dropping the answer in the making
                        // drops the request's stream, which cancels it.
                        response = handle => response,
                        // Cancel-safe: a peek (see `watch`).
                        () = watch.vanished() => {
                            // An answer nobody will read: not counted by status.
                            watch.count_vanished();
                            tracing::debug!("the client went away before its answer");
                            // `Connection: close`: hyper runs none of the
                            // requests still waiting in its buffer.
                            let mut gone = body::empty(StatusCode::BAD_REQUEST);
                            gone.headers_mut().insert(
                                http::header::CONNECTION,
                                http::HeaderValue::from_static("close"),
                            );
                            return Ok(gone.map(|inner| watch::WatchedBody::new(inner, watch)));
                        }
                    },
                };
                let metrics = http.server.shared.core.metrics_ref();
                metrics.http_statuses.record(response.status().as_u16());
                Ok::<_, Infallible>(response.map(|inner| watch::WatchedBody::new(inner, watch)))
            }
        })
    };
    // The builder in a block of its own, so that the connection's future
    // (alive as long as the connection) does not keep it.
    let conn = {
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(config.http.header_read_timeout)
            .max_buf_size(MAX_HEAD_BYTES)
            // hyper would read on while an answer is made, to notice the
            // client's end; the watch (`watch.rs`) notices it already, and
            // that read, with the request still holding slices of hyper's
            // read buffer, made hyper allocate a new 8 KiB buffer for every
            // request.
            .half_close(true)
            .keep_alive(!at_capacity);
        builder.serve_connection(TokioIo::new(stream), service)
    };
    tokio::pin!(conn);
    tokio::select! {
        // Cancel-safe: the connection future is kept and driven below.
        result = conn.as_mut() => {
            if let Err(e) = result {
                if e.is_timeout() {
                    // Headers slower than `header_read_timeout` (slowloris).
                    incr(&metrics.http_header_timeouts);
                }
                tracing::debug!(error = %e, "HTTP connection ended with an error");
            }
        }
        // Cancel-safe: only waits.
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(grace, conn).await;
        }
    }
    drop(permit);
}

/// Counts a connection in `http_connections_open` for as long as its task
/// lives (an aborted task included).
struct OpenConnection(Arc<crate::metrics::Metrics>);

impl OpenConnection {
    fn new(metrics: Arc<crate::metrics::Metrics>) -> Self {
        incr(&metrics.http_connections_open);
        Self(metrics)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        decr(&self.0.http_connections_open);
    }
}

/// Admits and registers a core session for an HTTP client (a 2025 session
/// or a listen stream), or the 503 that refuses it, answering request `id`.
fn admit(
    http: &Http,
    id: &RequestId,
) -> Result<(crate::core::Session, crate::core::OutboxReceiver), Box<http::Response<body::Body>>> {
    let core = &http.server.shared.core;
    core.admit()
        .and_then(|permit| core.register(permit))
        .map_err(|error| {
            let body = ErrorObject::new(SERVER_AT_CAPACITY, error.to_string())
                .with_data(serde_json::json!({"maxSessions": core.max_sessions()}));
            Box::new(body::error(StatusCode::SERVICE_UNAVAILABLE, Some(id), &body))
        })
}

/// The answer of a connection over `max_connections`.
fn busy(limit: usize) -> http::Response<body::Body> {
    body::error(
        StatusCode::SERVICE_UNAVAILABLE,
        None,
        &ErrorObject::new(
            SERVER_AT_CAPACITY,
            format!("server at capacity: {limit} HTTP connections"),
        )
        .with_data(serde_json::json!({"maxConnections": limit})),
    )
}
