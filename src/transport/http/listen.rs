//! `subscriptions/listen` over HTTP (2026-07-28): the POST's answer is a
//! long-lived SSE stream.
//!
//! The stream is a core session (permit, registry entry, bounded outbox,
//! token, drain token) registered with the server's listen streams for as
//! long as its body lives. Its first message is
//! `notifications/subscriptions/acknowledged`; then come the notifications
//! it asked for, each stamped with its subscription id, and keep-alive
//! comments while nothing happens. The client ends it by closing it; the
//! server ends it (shutdown, `disconnect`) with the listen request's answer.

use std::time::Duration;

use http::StatusCode;
use serde_json::Value;

use super::Http;
use super::body::{self, Body};
use super::sse::Sse;
use crate::protocol::jsonrpc::RequestId;
use crate::protocol::listen::{ListenFilter, acknowledged, ended};
use crate::protocol::tasks::{declares_tasks, tasks_required};

/// How long a listen stream stays silent before a keep-alive comment.
pub(crate) const LISTEN_KEEPALIVE: Duration = Duration::from_secs(15);

/// Opens a listen stream for the request `id`.
pub(crate) fn open(http: &Http, id: RequestId, params: Option<Value>) -> http::Response<Body> {
    let filter = match ListenFilter::parse(params.as_ref()) {
        Ok(filter) => filter,
        Err(error) => return body::error(StatusCode::BAD_REQUEST, Some(&id), &error),
    };
    let capabilities = params
        .as_ref()
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(crate::protocol::mcp::META_CLIENT_CAPABILITIES));
    if filter.wants_tasks() && !declares_tasks(capabilities) {
        return body::error(StatusCode::BAD_REQUEST, Some(&id), &tasks_required());
    }
    let shared = &http.server.shared;
    let (session, outbox) = match super::admit(http, &id) {
        Ok(admitted) => admitted,
        Err(refusal) => return *refusal,
    };
    session.attrs().set_protocol_version("2026-07-28");
    // The acknowledgement first, before the stream can receive anything.
    let _ = session.outbox().try_notify(acknowledged(&filter, &id));
    let guard = shared
        .listeners
        .add(filter, id.clone(), session.outbox().clone(), true);
    let stop = session.token().clone();
    tracing::debug!(session = %session.id(), "listen stream opened");
    Sse::new(outbox, 1, stop)
        .priming(true)
        .long_lived(LISTEN_KEEPALIVE, ended(&id), Box::new((guard, session)))
        .response()
}
