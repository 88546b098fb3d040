//! The built-in HTTP driver: [`Server::serve_http`] serves an
//! [`McpService`] at [`ENDPOINT`] on every connection of a [`Listener`],
//! with what only the owner of the connections can do: the connection cap
//! (`max_connections`: 503 and close), the header-read timeout, the bound
//! on a stalled write (`write_stall_timeout`, `stall.rs`), the watch
//! that notices a client gone while its answer is made (where the
//! connection offers one, see [`crate::transport::listener::Connection::watch`]),
//! the metrics at `/metrics` when `HttpConfig::metrics_endpoint` is on, 404
//! for any other path, and a graceful end of every connection at shutdown.

use std::convert::Infallible;

use http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::task::JoinSet;

use super::body::{self, Body};
use super::service::{self, refused};
use super::watch::{ConnWatch, WatchedBody};
use super::{ENDPOINT, MAX_HEAD_BYTES, McpService, headers};
use crate::metrics::{Metrics, decr, incr};
use crate::protocol::jsonrpc::{ErrorObject, SERVER_AT_CAPACITY};
use crate::server::{Server, ShutdownReport};
use crate::sync::{Arc, CancellationToken, Semaphore};
use crate::transport::accept::AcceptLoop;
use crate::transport::listener::{Connection, Listener};
use crate::transport::stall::StallGuard;

impl Server {
    /// Serves MCP over Streamable HTTP on `listener` (TCP, a Unix socket,
    /// TLS over either, or a listener of your own), at [`ENDPOINT`], until
    /// [`crate::ServerHandle::shutdown`] is called, then drains and returns
    /// the report (its sessions are the HTTP sessions).
    ///
    /// One server may serve TCP and HTTP at once (`serve_tcp` and
    /// `serve_http` on clones of it): they share one core and one admission
    /// limit. To serve MCP from your own hyper or axum stack instead, use
    /// [`Server::http_service`].
    pub async fn serve_http<L: Listener>(&self, listener: L) -> ShutdownReport {
        let config = &self.shared.config;
        let service = self.http_service();
        let connections = Arc::new(Semaphore::new(config.http.max_connections));
        let shutdown = self.shared.core.shutdown_token();
        let mut accept = AcceptLoop {
            name: "http",
            shutdown: &shutdown,
            metrics: self.shared.core.metrics_ref(),
            tasks: JoinSet::new(),
            max_tasks: usize::MAX,
        };
        accept
            .run(
                listener,
                |io, _peer, tasks| {
                    let connections = Arc::clone(&connections);
                    tasks.spawn(connection(service.clone(), io, connections, shutdown.clone()));
                },
                |_| {},
            )
            .await;
        let deadline = tokio::time::Instant::now() + config.shutdown_grace;
        let report = service.drain().await;
        // Every stream has ended with its session or request; the
        // connections close once their last response is written.
        let mut connections = accept.tasks;
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
/// the server does. Without a permit of `connections` (over
/// `max_connections`) every request is answered 503 and the connection
/// closed.
pub(super) async fn connection<C: Connection>(
    service: McpService,
    io: C,
    connections: Arc<Semaphore>,
    shutdown: CancellationToken,
) {
    let http = Arc::clone(service.shared());
    let metrics = Arc::clone(http.server.shared.core.metrics_ref());
    incr(&metrics.http_connections_accepted);
    // Counted open before its permit is taken and after it is given back
    // (locals drop in reverse order): the gauge never shows fewer
    // connections than hold permits.
    let _open = OpenConnection::new(Arc::clone(&metrics));
    let permit = Semaphore::try_acquire_owned(connections).ok();
    let at_capacity = permit.is_none();
    if at_capacity {
        incr(&metrics.connections_rejected);
    }
    let config = &http.server.shared.config;
    let grace = config.shutdown_grace;
    let header_read_timeout = config.http.header_read_timeout;
    let write_stall_timeout = config.write_stall_timeout;
    let watch = io.watch().map(|peer| ConnWatch::new(peer, Arc::clone(&metrics)));
    let watched = watch.is_some();
    let service = service_fn(move |request: Request<Incoming>| {
        let (http, watch) = (Arc::clone(&http), watch.clone());
        // Boxed, and made here rather than in the future below: hyper
        // keeps room for that future in every connection, idle or not, so
        // it holds only the box; a request's state (about 3 KiB) lives
        // only while it runs.
        let handle = (!at_capacity).then(|| Box::pin(route(Arc::clone(&http), request)));
        async move {
            let response = match handle {
                None => busy(http.server.shared.config.http.max_connections),
                Some(handle) => match &watch {
                    None => handle.await,
                    Some(watching) => tokio::select! {
                        biased;
                        // Cancel-safe: dropping the answer in the making
                        // drops the request's stream, which cancels it.
                        response = handle => response,
                        // Cancel-safe: a peek (see `transport::peer`).
                        () = watching.vanished() => return Ok(gone(watch)),
                    },
                },
            };
            let metrics = http.server.shared.core.metrics_ref();
            metrics.http_statuses.record(response.status().as_u16());
            Ok::<_, Infallible>(response.map(|inner| WatchedBody::new(inner, watch)))
        }
    });
    // The builder in a block of its own, so that the connection's future
    // (alive as long as the connection) does not keep it.
    let conn = {
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout)
            .max_buf_size(MAX_HEAD_BYTES)
            // hyper would read on while an answer is made, to notice the
            // client's end; the watch notices it already, and that read,
            // with the request still holding slices of hyper's read
            // buffer, made hyper allocate a new 8 KiB buffer for every
            // request. Without a watch, hyper keeps watching.
            .half_close(watched)
            .keep_alive(!at_capacity);
        let io = StallGuard::new(io, write_stall_timeout, Arc::clone(&metrics));
        builder.serve_connection(TokioIo::new(io), service)
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

/// The driver's routing: the metrics (when on), the MCP endpoint and its
/// protected-resource metadata (with auth), 404.
async fn route(http: Arc<super::Http>, request: Request<Incoming>) -> http::Response<Body> {
    let path = request.uri().path();
    #[cfg(feature = "metrics")]
    if path == super::metrics::PATH && http.server.shared.config.http.metrics_endpoint {
        let config = &http.server.shared.config.http;
        if !headers::host_allowed(config, request.headers())
            || !headers::origin_allowed(config, request.headers())
        {
            return refused(StatusCode::FORBIDDEN, "Host or Origin not allowed");
        }
        return super::metrics::answer(&http.server, request.method());
    }
    #[cfg(feature = "auth")]
    let metadata = super::authn::is_metadata_path(&http, path);
    #[cfg(not(feature = "auth"))]
    let metadata = false;
    if path != ENDPOINT && !metadata {
        return refused(
            StatusCode::NOT_FOUND,
            format!("no such endpoint; MCP is served at {ENDPOINT}"),
        );
    }
    service::handle(&http, request).await
}

/// The answer to a request whose client went away: nobody reads it, and
/// `Connection: close` makes hyper run none of the requests still waiting
/// in its buffer. Not counted by status.
fn gone(watch: Option<ConnWatch>) -> http::Response<WatchedBody> {
    if let Some(watch) = &watch {
        watch.count_vanished();
    }
    tracing::debug!("the client went away before its answer");
    let mut gone = body::empty(StatusCode::BAD_REQUEST);
    gone.headers_mut()
        .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    gone.map(|inner| WatchedBody::new(inner, watch))
}

/// Counts a connection in `http_connections_open` for as long as its task
/// lives (an aborted task included).
struct OpenConnection(Arc<Metrics>);

impl OpenConnection {
    fn new(metrics: Arc<Metrics>) -> Self {
        incr(&metrics.http_connections_open);
        Self(metrics)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        decr(&self.0.http_connections_open);
    }
}

/// The answer of a connection over `max_connections`.
fn busy(limit: usize) -> http::Response<Body> {
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
