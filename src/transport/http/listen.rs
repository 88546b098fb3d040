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

use super::Http;
use super::body::Body;
use super::sse::Sse;
use crate::protocol::jsonrpc::RequestId;
use crate::protocol::listen::{ListenFilter, acknowledged, ended};

/// How long a listen stream stays silent before a keep-alive comment.
pub(crate) const LISTEN_KEEPALIVE: Duration = Duration::from_secs(15);

/// Opens a listen stream for the request `id`, whose filter dispatch read
/// and checked.
pub(crate) fn open(http: &Http, id: RequestId, filter: ListenFilter) -> http::Response<Body> {
    let shared = &http.server.shared;
    let (session, outbox) = match super::admit(http, Some(&id)) {
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
