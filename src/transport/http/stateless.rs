//! 2026-07-28 over HTTP: every POST stands alone. No session, no
//! `initialize`; the request names its version, client info and
//! capabilities in `_meta`, and mirrors its version, method and name in
//! headers.
//!
//! The checks run in the order the conformance suite expects, first failure
//! wins, each answered with HTTP 400 and the JSON-RPC error:
//!
//! 1. `MCP-Protocol-Version` missing: -32020 (header mismatch);
//! 2. `_meta` without `io.modelcontextprotocol/protocolVersion` or
//!    `io.modelcontextprotocol/clientCapabilities`: -32602;
//! 3. `MCP-Protocol-Version`, `Mcp-Method` or `Mcp-Name` (for `tools/call`,
//!    `prompts/get`, `resources/read`) not equal to the body: -32020;
//! 4. a version this server does not speak: -32022 with `data.supported`
//!    and `data.requested`.
//!
//! Then, for `tools/call`, the `Mcp-Param-*` headers of the tool's
//! `x-mcp-header` parameters must match the arguments (-32020 again).
//!
//! A method this generation does not have gets 404 and -32601. What needs
//! no handler of the user's is answered at once (a missing client
//! capability with 400 and -32021). A request that runs a handler holds a
//! permit of the stateless-request gate (`max_concurrent_requests`; 503
//! when none is left) while it runs, and runs as its own task, so that an
//! SSE answer can stream while it works; closing the stream cancels it.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::Http;
use super::body::{self, Body};
use super::cancel::CancelOnDrop;
use super::headers::{self, METHOD, NAME, PROTOCOL_VERSION};
use super::sse::{self, Sse};
use tracing::Instrument;

use crate::metrics::incr;
use crate::metrics::requests::{Outcome, method_index};
use crate::protocol::header_params;
use crate::protocol::jsonrpc::{ErrorObject, METHOD_NOT_FOUND, RequestId, SERVER_AT_CAPACITY};
use crate::protocol::listen::ListenFilter;
use crate::protocol::mcp::{
    HEADER_MISMATCH, Lifecycle, META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, MISSING_CLIENT_CAPABILITY,
    STATELESS_VERSIONS, unsupported_version,
};
use crate::protocol::method::Method;
use crate::protocol::params::Params;
use crate::server::engine::dispatch::{Call, Host, dispatch, request_span, settle};
use crate::server::engine::session::run_alone;
use crate::server::{HttpRequest, Shared};
use crate::sync::Arc;

/// Why a request was refused before it ran: HTTP 400 and this error.
type Refusal = ErrorObject;

fn mismatch(message: impl Into<String>) -> Refusal {
    ErrorObject::new(HEADER_MISMATCH, message)
}

/// The checks of the module docs, for a request with `method` and `params`.
fn validate(headers: &HeaderMap, method: &str, params: &Params<'_>) -> Result<(), Refusal> {
    let Some(version) = headers::text(headers, PROTOCOL_VERSION) else {
        return Err(mismatch("the MCP-Protocol-Version header is required"));
    };
    let meta = params.meta();
    let body_version = meta.and_then(|m| m.get(META_PROTOCOL_VERSION));
    let caps = meta.and_then(|m| m.get(META_CLIENT_CAPABILITIES));
    if body_version.is_none() || caps.is_none() {
        return Err(ErrorObject::invalid_params(format!(
            "params._meta must carry {META_PROTOCOL_VERSION:?} and {META_CLIENT_CAPABILITIES:?}"
        )));
    }
    if body_version.and_then(Value::as_str) != Some(version) {
        return Err(mismatch(
            "the MCP-Protocol-Version header does not match params._meta",
        ));
    }
    if headers::text(headers, METHOD) != Some(method) {
        return Err(mismatch("the Mcp-Method header does not match the method"));
    }
    if let Some(field) = Method::parse(method).and_then(Method::named_field) {
        let named = params.str_member(field);
        let header = headers::text(headers, NAME).map(headers::decoded);
        if named.is_some() && header.as_ref().and_then(|h| h.as_deref().ok()) != named {
            return Err(mismatch(format!(
                "the Mcp-Name header does not match params.{field}"
            )));
        }
    }
    if !STATELESS_VERSIONS.contains(&version) {
        return Err(unsupported_version(version));
    }
    Ok(())
}

/// A stateless POST carrying one request.
pub(crate) async fn request(
    http: &Http,
    request: &HttpRequest,
    id: RequestId,
    method: &str,
    params: Params<'_>,
) -> http::Response<Body> {
    let headers = &request.headers;
    if let Err(refusal) = validate(headers, method, &params) {
        return body::error(StatusCode::BAD_REQUEST, Some(&id), &refusal);
    }
    if !Method::parse(method).is_some_and(Method::stateless) {
        return body::error(
            StatusCode::NOT_FOUND,
            Some(&id),
            &ErrorObject::method_not_found(method),
        );
    }
    let shared = &http.server.shared;
    if method == Method::ToolsCall.name()
        && let Err(refusal) = mirrored_params(shared, headers, &params)
    {
        return body::error(StatusCode::BAD_REQUEST, Some(&id), &refusal);
    }
    let metrics = shared.core.metrics_ref();
    incr(&metrics.requests_total);
    let m = method_index(method);
    // Dispatch is synchronous: what needs no handler is answered right here,
    // without a permit or a task. Inside the request's span, which a call
    // that names a trace records it on.
    let span = request_span(&id, method);
    let entered = span.enter();
    let dispatched = dispatch(shared, &mut Lifecycle::default(), method, params, Some(request));
    let mut host = Alone {
        http,
        request,
        listen: method == Method::Listen.name(),
        settled: None,
    };
    settle(shared, &mut host, id, m, dispatched);
    drop(entered);
    let (id, call) = match host.settled {
        Some(Settled::Response(response)) => return response,
        Some(Settled::Call(id, call)) => (id, call),
        // `settle` always sends, runs or opens; nothing else is left.
        None => {
            return body::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                &ErrorObject::internal("the request was not answered"),
            );
        }
    };
    let count = |outcome| metrics.requests.record(m, outcome);
    let core = &shared.core;
    let permit = match core.admit_request() {
        Ok(permit) => permit,
        Err(error) => {
            count(Outcome::Error);
            let limit = shared.config.http.max_concurrent_requests;
            let body = ErrorObject::new(SERVER_AT_CAPACITY, error.to_string())
                .with_data(serde_json::json!({"maxConcurrentRequests": limit}));
            return body::error(StatusCode::SERVICE_UNAVAILABLE, Some(&id), &body);
        }
    };
    let stop = core.shutdown_token();
    let token = stop.child_token();
    let (outbox, rx) = core.request_outbox(core.next_id(), token.clone());
    let cancel = CancelOnDrop(token.clone());
    let http_request = Arc::clone(request);
    let server = http.server.handle();
    // Kept for the refusal below: the call takes its own.
    let refused_id = id.clone();
    tokio::spawn(run_alone(server, permit, id, call, outbox, token, http_request).instrument(span));
    let answered = sse::answer_or_stream(rx, &stop, None, |rx, first| {
        Sse::new(rx, 1, stop.clone())
            .priming(true)
            .for_request(first, cancel)
    })
    .await;
    answered.unwrap_or_else(|| {
        body::error(
            StatusCode::SERVICE_UNAVAILABLE,
            Some(&refused_id),
            &ErrorObject::new(SERVER_AT_CAPACITY, "the server is shutting down"),
        )
    })
}

/// The HTTP status of an error answered before anything ran: 400 for a
/// missing client capability, 404 for an unknown method, 503 for a full
/// task table or a server shutting down, 200 otherwise.
fn status_of(error: &ErrorObject) -> StatusCode {
    match error.code {
        MISSING_CLIENT_CAPABILITY => StatusCode::BAD_REQUEST,
        METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        SERVER_AT_CAPACITY => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    }
}

/// What one stateless request came to.
enum Settled {
    /// Its response: an answer, a refusal, or an open listen stream.
    Response(http::Response<Body>),
    /// A handler call, to run holding a permit of the stateless gate.
    Call(RequestId, Call),
}

/// A POST standing alone as the carrier of its request. It has no session:
/// the session-only methods (`logging/setLevel`, `resources/subscribe`)
/// are not of the 2026-07-28 generation, so dispatch answers them -32601
/// before they reach here; were one to come anyway, it would change
/// nothing (a subscription is refused with -32601).
struct Alone<'a> {
    http: &'a Http,
    request: &'a HttpRequest,
    /// A `subscriptions/listen`: an error before its stream opens is a
    /// refusal (400), as the stream never starts.
    listen: bool,
    settled: Option<Settled>,
}

impl Host for Alone<'_> {
    fn send(&mut self, frame: Bytes, error: Option<&ErrorObject>) {
        let status = match error {
            None => StatusCode::OK,
            Some(_) if self.listen => StatusCode::BAD_REQUEST,
            Some(error) => status_of(error),
        };
        self.settled = Some(Settled::Response(body::json(status, frame)));
    }

    fn run(&mut self, id: RequestId, call: Call) {
        self.settled = Some(Settled::Call(id, call));
    }

    fn http_request(&self) -> Option<HttpRequest> {
        Some(Arc::clone(self.request))
    }

    fn set_log_level(&mut self, _rank: u8) {}

    fn subscribe(&mut self, _uri: String, on: bool) -> Result<(), ErrorObject> {
        let method = if on {
            Method::Subscribe
        } else {
            Method::Unsubscribe
        };
        Err(ErrorObject::method_not_found(method.name()))
    }

    fn listen(&mut self, id: RequestId, filter: ListenFilter) -> Outcome {
        let response = super::listen::open(self.http, id, filter);
        let outcome = if response.status() == StatusCode::OK {
            Outcome::Ok
        } else {
            Outcome::Error
        };
        self.settled = Some(Settled::Response(response));
        outcome
    }
}

/// Checks the `Mcp-Param-*` headers of a `tools/call` against its
/// arguments (see `protocol::header_params`).
fn mirrored_params(shared: &Shared, headers: &HeaderMap, params: &Params<'_>) -> Result<(), Refusal> {
    let Some(name) = params.str_member("name") else {
        return Ok(());
    };
    let catalog = shared.catalog.snapshot();
    let Some(tool) = catalog.tools.get(name) else {
        return Ok(());
    };
    let empty = Value::Object(Default::default());
    let arguments = params.arguments().unwrap_or(&empty);
    header_params::check(tool.header_params(), arguments, |header| {
        headers
            .get(header)
            .map(|v| v.to_str().map_err(|_| ()).and_then(headers::decoded))
    })
    .map_err(mismatch)
}

/// A stateless POST carrying a notification or a response: accepted.
pub(crate) fn accepted() -> http::Response<Body> {
    body::empty(StatusCode::ACCEPTED)
}
