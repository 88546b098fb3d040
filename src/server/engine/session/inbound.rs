//! What one inbound request or notification does to its session: the
//! duplicate-id check, the lifecycle's classification, then dispatch, whose
//! answer is sent at once, held, or left to a call's task; and the
//! notifications a session acts on (`initialized`, `cancelled`).

use serde_json::Value;

use super::{Route, SessionState};
use crate::metrics::incr;
use crate::metrics::requests::{Outcome, method_index};
use crate::protocol::jsonrpc::{ErrorObject, INVALID_REQUEST, RequestId, encode_error};
use crate::protocol::listen::ListenFilter;
use crate::protocol::listen::acknowledged;
use crate::protocol::mcp::Generation;
use crate::protocol::method::Method;
use crate::protocol::params::Params;
use crate::server::api::http_request::HttpRequest;
use crate::server::engine::dispatch::{Call, Dispatch, Host, dispatch, request_span, settle};
use crate::server::ext::resource_subs::MAX_SUBSCRIBED_BYTES_PER_SESSION;
use crate::sync::Arc;
use bytes::Bytes;

impl SessionState {
    /// One request: refused if its id is in use, else classified by the
    /// lifecycle and dispatched.
    pub(super) fn on_request(&mut self, id: RequestId, method: &str, params: Params<'_>, route: &Route) {
        // Off unless `mcp_server_core=debug`: then every event of this
        // request, and of its handler's task, names the request (and the
        // trace its `_meta` names, recorded when the call is read).
        let span = request_span(&id, method);
        let _entered = span.enter();
        tracing::debug!("request received");
        incr(&self.shared.core.metrics_ref().requests_total);
        let m = method_index(method);
        if self.requests.contains_key(&id) || self.listens.contains_key(&id) {
            self.count(m, Outcome::Error);
            let error = ErrorObject::new(INVALID_REQUEST, "request id already in use by a running request");
            self.reply(encode_error(Some(&id), &error), route);
            return;
        }
        if !self.engaged
            && let Ok(Generation::Stateless(version)) = self.lifecycle.classify(method, params.meta())
        {
            // A 2026-07-28 client needs no handshake; the session speaks
            // that version from now on (for the metrics' per-version count).
            self.engaged = true;
            self.session.attrs().set_protocol_version(version);
        }
        let http = match route {
            Route::Stream { request, .. } => Some(request),
            Route::Session => None,
        };
        if self.stored.is_some() && method == Method::Initialize.name() {
            self.note_initialize(&params);
        }
        let dispatched = dispatch(&self.shared, &mut self.lifecycle, method, params, http);
        if matches!(dispatched, Dispatch::Reply(Ok(_)))
            && method == Method::Initialize.name()
            && let Some(version) = self.lifecycle.negotiated()
        {
            self.engaged = true;
            self.session.attrs().set_protocol_version(version);
            self.client_capabilities = Arc::new(self.lifecycle.client_capabilities().clone());
            self.record_changed();
        }
        let shared = Arc::clone(&self.shared);
        let mut host = OnSession {
            state: self,
            route,
            span: &span,
        };
        settle(&shared, &mut host, id, m, dispatched);
    }

    /// Counts a request of method number `m` answered at once.
    pub(super) fn count(&self, m: u8, outcome: Outcome) {
        self.shared.core.metrics_ref().requests.record(m, outcome);
        tracing::debug!(outcome = outcome.name(), "request answered");
    }

    /// One notification: the ones that change the session, the rest
    /// ignored.
    pub(super) fn on_notification(&mut self, method: &str, params: Option<Value>) {
        match method {
            "notifications/initialized" => {
                if self.lifecycle.initialized() {
                    self.session.attrs().set_notify_gate(self.log_level);
                    self.record_changed();
                }
            }
            "notifications/cancelled" => {
                let id = params
                    .as_ref()
                    .and_then(|p| p.get("requestId"))
                    .and_then(RequestId::from_value);
                if let Some(id) = id {
                    if let Some(token) = self.requests.get(&id) {
                        token.cancel();
                    }
                    self.listens.remove(&id);
                }
            }
            _ => tracing::trace!(session = %self.session.id(), method, "ignoring notification"),
        }
    }

    /// Records `resources/subscribe` (`on`) or `resources/unsubscribe`.
    pub(super) fn subscribe(&mut self, uri: String, on: bool) -> Result<(), ErrorObject> {
        let table = &self.shared.resource_subs;
        let id = self.session.id();
        if !on {
            table.unsubscribe(&uri, id);
            if self.resource_subs.remove(&uri) {
                self.resource_sub_bytes -= uri.len();
                self.record_changed();
            }
            return Ok(());
        }
        if self.resource_subs.contains(&uri) {
            return Ok(());
        }
        if self.resource_sub_bytes + uri.len() > MAX_SUBSCRIBED_BYTES_PER_SESSION {
            return Err(ErrorObject::invalid_params(format!(
                "resources/subscribe: at most {MAX_SUBSCRIBED_BYTES_PER_SESSION} bytes of subscribed URIs per session"
            )));
        }
        table.subscribe(&uri, id);
        self.resource_sub_bytes += uri.len();
        self.resource_subs.insert(uri);
        self.record_changed();
        Ok(())
    }
}

/// A session as the carrier of its requests: answers go to the route's
/// outbox (or are held for a transport that writes them itself), calls run
/// in the session's task set, and the session-only methods change it.
struct OnSession<'a> {
    state: &'a mut SessionState,
    route: &'a Route,
    span: &'a tracing::Span,
}

impl Host for OnSession<'_> {
    fn send(&mut self, frame: Bytes, _error: Option<&ErrorObject>) {
        self.state.reply(frame, self.route);
    }

    fn run(&mut self, id: RequestId, call: Call) {
        self.state.spawn_call(id, call, self.route, self.span);
    }

    fn http_request(&self) -> Option<HttpRequest> {
        match self.route {
            Route::Stream { request, .. } => Some(Arc::clone(request)),
            Route::Session => None,
        }
    }

    fn set_log_level(&mut self, rank: u8) {
        let state = &mut *self.state;
        state.log_level = rank;
        if state.lifecycle.is_initialized() {
            state.session.attrs().set_notify_gate(rank);
        }
        state.record_changed();
    }

    fn subscribe(&mut self, uri: String, on: bool) -> Result<(), ErrorObject> {
        self.state.subscribe(uri, on)
    }

    fn listen(&mut self, id: RequestId, filter: ListenFilter) -> Outcome {
        let state = &mut *self.state;
        // The acknowledgement goes first, before any notification can
        // reach the stream.
        let outbox = state.outbox(self.route).clone();
        let _ = outbox.try_notify(acknowledged(&filter, &id));
        let guard = state.shared.listeners.add(filter, id.clone(), outbox, false);
        state.listens.insert(id, guard);
        Outcome::Ok
    }
}
