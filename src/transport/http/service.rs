//! One HTTP request on the MCP endpoint: the checks every request passes,
//! then POST, GET or DELETE for a 2025 session or a stateless request.
//!
//! Statuses, as the transport specification and the official SDKs use them:
//! 403 for a `Host` or `Origin` not allowed; 406 for an `Accept` that does
//! not take what the answer may be; 415 for a body that is not declared
//! JSON; 413 past `max_body_bytes`; 400 (with the JSON-RPC error as a JSON
//! body) for a body that is not JSON (-32700) or not one JSON-RPC message
//! (-32600), for a missing `Mcp-Session-Id`, and for an unsupported
//! `MCP-Protocol-Version`; 404 for an unknown or ended session; 405 for GET
//! and DELETE without a session (2026-07-28 has neither); 202 for a
//! notification or a response.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body as HttpBody, Frame, SizeHint};

use super::Http;
#[cfg(feature = "auth")]
use super::authn;
use super::body::{self, Body};
use super::evict;
use super::headers::{self, LAST_EVENT_ID, METHOD, PROTOCOL_VERSION, SESSION_ID};
use super::{entry, session, standalone, stateless};
use crate::metrics::incr;
use crate::protocol::jsonrpc::{self, ErrorObject, INVALID_REQUEST, Incoming};
use crate::protocol::mcp::{HANDSHAKE_VERSIONS, META_PROTOCOL_VERSION, STATELESS_VERSIONS};
use crate::protocol::method::Method as McpMethod;
use crate::server::{HttpRequest, Server, ShutdownReport};
use crate::sync::Arc;

/// MCP over Streamable HTTP as a service: a hyper
/// [`Service`](hyper::service::Service) and a tower
/// [`Service`](tower_service::Service) of `Request<B>` for any body `B`,
/// to serve with your own hyper connection loop or to mount in axum
/// (`Router::route_service("/mcp", service)`) behind your own tower
/// layers. Made by [`Server::http_service`]; cheap to clone (every clone
/// serves the same sessions).
///
/// It answers every request it is given as the MCP endpoint, whatever the
/// path (the router in front of it chose it), except, with authorization
/// on ([`crate::config::HttpConfig::auth`]), the paths of
/// [`crate::auth::Auth::metadata_paths`], which it answers with the
/// protected-resource metadata: route those to it too. Sessions, listen streams,
/// SSE, the `Host` and `Origin` checks, the body limit and timeout, the
/// session and stateless-request caps and shutdown work as under the
/// built-in driver ([`Server::serve_http`]). What only the driver does,
/// because only it owns the connections:
///
/// - `max_connections` and `header_read_timeout`: your server's own
///   connection limit and timeouts apply instead;
/// - noticing a client that went away while its request runs and hyper is
///   not reading (a pipelining client): here such a request runs until its
///   answer, its timeout, or until your server drops its response;
/// - a graceful end of every connection on shutdown: after
///   [`crate::ServerHandle::shutdown`], every SSE stream of this service
///   ends and new requests are refused, so your server's own graceful
///   shutdown completes; then [`McpService::drain`] waits for the sessions.
#[derive(Clone)]
pub struct McpService {
    http: Arc<Http>,
}

impl fmt::Debug for McpService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpService")
            .field("sessions", &self.http.sessions.len())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Streamable HTTP as a service to mount in your own hyper or axum
    /// stack (see [`McpService`]), configured by this server's
    /// [`crate::config::HttpConfig`]. Each call makes a service with
    /// sessions of its own; clone it to share them.
    pub fn http_service(&self) -> McpService {
        McpService {
            http: Http::new(self.clone()),
        }
    }
}

impl McpService {
    pub(crate) fn shared(&self) -> &Arc<Http> {
        &self.http
    }

    /// Waits for this service's sessions to end after
    /// [`crate::ServerHandle::shutdown`] (each sees its token cancelled
    /// and ends at once), aborts any still running after the shutdown
    /// grace, and returns the report. Call it once, after shutdown; until
    /// shutdown the sessions it waits for keep running.
    pub async fn drain(&self) -> ShutdownReport {
        let sessions = std::mem::take(&mut *self.http.session_tasks.lock());
        self.http.server.drain(sessions, 0).await
    }

    /// Answers one request (what both `Service` impls call).
    pub async fn handle<B>(&self, request: Request<B>) -> http::Response<McpBody>
    where
        B: HttpBody + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        handle(&self.http, request).await.map(McpBody)
    }
}

/// The future of one request of [`McpService`].
pub type McpFuture = Pin<Box<dyn Future<Output = Result<http::Response<McpBody>, Infallible>> + Send>>;

impl<B> hyper::service::Service<Request<B>> for McpService
where
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<McpBody>;
    type Error = Infallible;
    type Future = McpFuture;

    fn call(&self, request: Request<B>) -> McpFuture {
        let http = Arc::clone(&self.http);
        Box::pin(async move { Ok(handle(&http, request).await.map(McpBody)) })
    }
}

impl<B> tower_service::Service<Request<B>> for McpService
where
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<McpBody>;
    type Error = Infallible;
    type Future = McpFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Every cap answers a request at once (503) rather than holding it.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> McpFuture {
        hyper::service::Service::call(&*self, request)
    }
}

/// The body of every answer of [`McpService`]: one JSON message, or a
/// Server-Sent Events stream.
pub struct McpBody(pub(crate) Body);

impl fmt::Debug for McpBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpBody").finish_non_exhaustive()
    }
}

impl HttpBody for McpBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.0).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.0.size_hint()
    }
}

pub(super) fn refused(status: StatusCode, message: impl Into<String>) -> http::Response<Body> {
    body::error(status, None, &ErrorObject::new(INVALID_REQUEST, message))
}

/// Answers one request.
pub(super) async fn handle<B>(http: &Arc<Http>, request: Request<B>) -> http::Response<Body>
where
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let config = &http.server.shared.config.http;
    if !headers::host_allowed(config, request.headers()) {
        return refused(StatusCode::FORBIDDEN, "Host not allowed");
    }
    // Public, and read cross-origin by browser clients.
    #[cfg(feature = "auth")]
    if let Some(response) = authn::metadata(http, &request) {
        return response;
    }
    if !headers::origin_allowed(config, request.headers()) {
        return refused(StatusCode::FORBIDDEN, "Origin not allowed");
    }
    #[cfg(feature = "auth")]
    let request = match authn::authenticate(http, request).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let sid = headers::text(request.headers(), SESSION_ID).map(str::to_owned);
    match (request.method(), sid) {
        (&Method::POST, sid) => post(http, request, sid).await,
        (&Method::GET, Some(sid)) => get(http, request.headers(), request.extensions(), &sid).await,
        (&Method::DELETE, Some(sid)) => {
            session::delete(http, &sid, entry::caller(request.extensions())).await
        }
        (&Method::GET | &Method::DELETE, None) => not_allowed(request.headers()),
        _ => {
            let mut response = refused(StatusCode::METHOD_NOT_ALLOWED, "use POST, GET or DELETE");
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST, GET, DELETE"));
            response
        }
    }
}

/// GET or DELETE without a session: 405 (a stateless client has neither),
/// or 400 for a 2025 client that forgot its session id.
fn not_allowed(headers: &HeaderMap) -> http::Response<Body> {
    let version = headers::text(headers, PROTOCOL_VERSION);
    if version.is_some_and(|v| HANDSHAKE_VERSIONS.contains(&v)) {
        return refused(StatusCode::BAD_REQUEST, "the Mcp-Session-Id header is required");
    }
    let mut response = refused(
        StatusCode::METHOD_NOT_ALLOWED,
        "GET and DELETE need a session; stateless requests are POSTs",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

/// True if a 2025 session's request names a version it may not use.
fn bad_session_version(headers: &HeaderMap) -> Option<http::Response<Body>> {
    let version = headers::text(headers, PROTOCOL_VERSION)?;
    if HANDSHAKE_VERSIONS.contains(&version) {
        return None;
    }
    Some(refused(
        StatusCode::BAD_REQUEST,
        format!("unsupported MCP-Protocol-Version {version:?} for a session"),
    ))
}

async fn get(
    http: &Arc<Http>,
    headers: &HeaderMap,
    extensions: &http::Extensions,
    sid: &str,
) -> http::Response<Body> {
    if !headers::accepted(headers).sse {
        return refused(
            StatusCode::NOT_ACCEPTABLE,
            "Accept must include text/event-stream",
        );
    }
    if let Some(response) = bad_session_version(headers) {
        return response;
    }
    let caller = entry::caller(extensions);
    standalone::standalone(http, sid, headers::text(headers, LAST_EVENT_ID), caller).await
}

async fn post<B>(http: &Arc<Http>, request: Request<B>, sid: Option<String>) -> http::Response<Body>
where
    B: HttpBody + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let accepted = headers::accepted(headers);
    if !(accepted.json && accepted.sse) {
        return refused(
            StatusCode::NOT_ACCEPTABLE,
            "Accept must include application/json and text/event-stream",
        );
    }
    if !headers::is_json(headers) {
        return refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        );
    }
    let limit = http.server.shared.config.http.max_body_bytes;
    let wait = http.server.shared.config.http.body_read_timeout;
    let Ok(read) = tokio::time::timeout(wait, Limited::new(body, limit).collect()).await else {
        // A body that never ends would hold the connection (and its
        // permit) forever.
        incr(&http.server.shared.core.metrics_ref().http_body_timeouts);
        let mut response = refused(
            StatusCode::REQUEST_TIMEOUT,
            format!("the body did not arrive within {} ms", wait.as_millis()),
        );
        response
            .headers_mut()
            .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
        return response;
    };
    let line: Bytes = match read {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            return refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body exceeds the limit of {limit} bytes"),
            );
        }
        Err(error) => {
            return refused(
                StatusCode::BAD_REQUEST,
                format!("reading the body failed: {error}"),
            );
        }
    };
    let incoming = match jsonrpc::parse(&line) {
        Ok(incoming) => incoming,
        Err(rejection) => {
            incr(&http.server.shared.core.metrics_ref().messages_invalid);
            return body::error(StatusCode::BAD_REQUEST, rejection.id.as_ref(), &rejection.error);
        }
    };
    #[cfg(feature = "auth")]
    if let Incoming::Request { id, method, params } = &incoming
        && let Err(response) = authn::authorize(http, parts.extensions.get(), id, method, params)
    {
        return *response;
    }
    // What the handler may read of the request (`RequestContext::http_request`).
    let parts: HttpRequest = Arc::new(parts);
    let headers = &parts.headers;
    if let Some(sid) = sid {
        if let Some(response) = bad_session_version(headers) {
            return response;
        }
        return session::post(http, &sid, incoming, &parts).await;
    }
    match incoming {
        // `initialize` opens a session unless it plainly names the
        // stateless generation (which has no `initialize`: 404).
        Incoming::Request { id, method, params }
            if method == McpMethod::Initialize.name() && !names_stateless(headers, params.meta()) =>
        {
            if let Err(refused) = evict::make_room(http, &id, entry::caller(&parts.extensions)).await {
                return *refused;
            }
            session::initialize(http, id, params, &parts).await
        }
        Incoming::Request { id, method, params } if is_stateless(headers, params.meta()) => {
            stateless::request(http, &parts, id, &method, params).await
        }
        Incoming::Notification { .. } | Incoming::Response { .. } if is_stateless(headers, None) => {
            stateless::accepted()
        }
        _ => refused(
            StatusCode::BAD_REQUEST,
            "the Mcp-Session-Id header is required (initialize first, or send a stateless 2026-07-28 request)",
        ),
    }
}

/// True if a request names a stateless version, in its header or `_meta`.
fn names_stateless(headers: &HeaderMap, meta: Option<&serde_json::Value>) -> bool {
    let in_meta = meta
        .and_then(|m| m.get(META_PROTOCOL_VERSION))
        .and_then(serde_json::Value::as_str);
    [headers::text(headers, PROTOCOL_VERSION), in_meta]
        .into_iter()
        .flatten()
        .any(|v| STATELESS_VERSIONS.contains(&v))
}

/// True for a POST without a session that speaks (or tries to speak) the
/// stateless generation: a non-handshake version in the header, a version
/// in `_meta`, or an `Mcp-Method` header (which no 2025 client sends).
fn is_stateless(headers: &HeaderMap, meta: Option<&serde_json::Value>) -> bool {
    let header = headers::text(headers, PROTOCOL_VERSION);
    let in_meta = meta.is_some_and(|m| m.get(META_PROTOCOL_VERSION).is_some());
    in_meta
        || headers.contains_key(METHOD)
        || header.is_some_and(|v| STATELESS_VERSIONS.contains(&v) || !HANDSHAKE_VERSIONS.contains(&v))
}
