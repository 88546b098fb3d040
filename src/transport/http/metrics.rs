//! `GET /metrics`: the server's metrics for a Prometheus scrape, on a
//! listener of their own ([`Server::serve_metrics`]) or on the MCP
//! listener (`HttpConfig::metrics_endpoint`).

use std::convert::Infallible;

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::task::JoinSet;

use super::MAX_HEAD_BYTES;
use super::body::{self, Body};
use crate::protocol::jsonrpc::{ErrorObject, INVALID_REQUEST};
use crate::server::{METRICS_CONTENT_TYPE, Server};
use crate::transport::accept::AcceptLoop;
use crate::transport::listener::{Connection, Listener};

/// Where the metrics are served.
pub(crate) const PATH: &str = "/metrics";

/// Scrapers served at once by a metrics listener; more wait in the
/// listener's backlog.
const MAX_SCRAPERS: usize = 16;

/// The answer to a request for [`PATH`]: the metrics for GET (and HEAD),
/// 405 otherwise.
pub(crate) fn answer(server: &Server, method: &Method) -> Response<Body> {
    if method != Method::GET && method != Method::HEAD {
        let mut response = body::error(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            &ErrorObject::new(INVALID_REQUEST, "the metrics are read with GET"),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let text = server.handle().metrics_text();
    let mut response = Response::new(Full::new(bytes::Bytes::from(text)).boxed_unsync());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(METRICS_CONTENT_TYPE),
    );
    response
}

impl Server {
    /// Serves the server's metrics (OpenMetrics text, which Prometheus
    /// scrapes) at `GET /metrics` on `listener` until
    /// [`crate::ServerHandle::shutdown`] is called. Any other path is 404.
    /// At most 16 scrapers are served at once; each connection's headers
    /// must arrive within the HTTP `header_read_timeout`.
    pub async fn serve_metrics<L: Listener>(&self, listener: L) {
        let shutdown = self.shared.core.shutdown_token();
        let mut accept = AcceptLoop {
            name: "metrics",
            shutdown: &shutdown,
            metrics: self.shared.core.metrics_ref(),
            tasks: JoinSet::new(),
            // Not accepted while MAX_SCRAPERS are being served (the
            // listener's backlog holds the rest).
            max_tasks: MAX_SCRAPERS,
        };
        accept
            .run(
                listener,
                |io, _peer, scrapers| {
                    scrapers.spawn(scrape(self.clone(), io));
                },
                |_| {},
            )
            .await;
        accept.tasks.abort_all();
    }
}

/// Serves one scraper's connection.
async fn scrape<C: Connection>(server: Server, stream: C) {
    let timeout = server.shared.config.http.header_read_timeout;
    let service = service_fn(move |request: Request<Incoming>| {
        let response = if request.uri().path() == PATH {
            answer(&server, request.method())
        } else {
            body::error(
                StatusCode::NOT_FOUND,
                None,
                &ErrorObject::new(
                    INVALID_REQUEST,
                    format!("no such endpoint; metrics are at {PATH}"),
                ),
            )
        };
        async move { Ok::<_, Infallible>(response) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        // One scrape per connection: an idle scraper holds no slot.
        .keep_alive(false);
    if let Err(e) = builder.serve_connection(TokioIo::new(stream), service).await {
        tracing::debug!(error = %e, "metrics connection ended with an error");
    }
}
