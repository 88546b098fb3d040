//! 2025 sessions over HTTP (`Mcp-Session-Id`): each is a core session
//! (permit, registry entry, outbox, token) whose messages arrive one POST at
//! a time instead of on a byte stream.
//!
//! One task per session runs the session's protocol state. POSTs hand it
//! their message through a bounded channel, each with the route of its
//! answer (the POST's own stream); the channel is read only below the
//! in-flight cap, so a POST to a busy session waits for room (within the
//! request timeout) instead of memory growing. What belongs to no request
//! (`broadcast`, `notify_client`) waits in the session's outbox until a GET
//! opens the standalone stream, which takes the outbox's receiver and gives
//! it back when it ends.
//!
//! A session ends (see `session_task.rs`) on DELETE, on shutdown, or after
//! `session_idle_timeout` with no request running and no standalone stream
//! open (also one that never finished `initialize`). A POST that finds its
//! session ending is answered 404, never left waiting: the session's
//! channel closes with it.

use std::time::Duration;

use http::StatusCode;

use super::Http;
use super::body::{self, Body};
use super::cancel::CancelOnDrop;
use super::entry::{HttpSession, caller, not_found, primes, start};
use super::session_task::Inbound;
use super::sse::{self, Sse};
use super::stored;
use crate::auth::Principal;
use crate::config::{ReplicaId, stamped};
use crate::protocol::jsonrpc::{ErrorObject, Incoming, RequestId, SERVER_AT_CAPACITY};
use crate::protocol::params::Params;
use crate::server::HttpRequest;
use crate::server::engine::session::{Route, SessionState};
use crate::server::store::{RecordCell, SessionEvent, SessionOwner, StreamKind};
use crate::sync::{Arc, CancellationToken, Ordering, oneshot, random_fill};

/// 128 random bits from the operating system, as 32 hex digits, after
/// the replica's name when it has one (`ServerConfig::replica_id`).
fn new_session_id(replica: Option<&ReplicaId>) -> String {
    let mut bits = [0u8; 16];
    random_fill(&mut bits);
    stamped(replica, bits.iter().map(|b| format!("{b:02x}")).collect())
}

/// A POST with `initialize` and no session: admits and registers a new
/// session, starts its task, and answers the request on it. (Room for it
/// is made first, by `evict.rs`.)
pub(crate) async fn initialize(
    http: &Arc<Http>,
    id: RequestId,
    params: Params<'_>,
    request: &HttpRequest,
) -> http::Response<Body> {
    let caller = caller(&request.extensions);
    let (session, outbox) = match super::admit(http, Some(&id)) {
        Ok(admitted) => admitted,
        Err(refusal) => return *refusal,
    };
    let sid = new_session_id(http.server.shared.config.replica_id.as_ref());
    let mut state = SessionState::new(std::sync::Arc::clone(&http.server.shared), session);
    let record = http.server.shared.session_store.as_ref().map(|_| {
        let cell = Arc::new(RecordCell::new(sid.clone(), caller.map(SessionOwner::from)));
        state.keep_record(Arc::clone(&cell));
        cell
    });
    let owner = caller.cloned().map(Arc::new);
    let Ok(entry) = start(http, sid.clone(), state, outbox, owner, record) else {
        unreachable!("a new session id is taken")
    };
    let message = Incoming::Request {
        id,
        method: "initialize".into(),
        params: params.into_owned(),
    };
    let mut response = answer(http, &entry, message, request).await;
    if response.status() == StatusCode::SERVICE_UNAVAILABLE && entry.record.is_some() {
        // Not saved: the client initializes again, here or elsewhere.
        if http.sessions.remove(&sid).is_some() {
            entry.token.cancel();
        }
        return response;
    }
    let value = http::HeaderValue::from_str(&sid).expect("hex digits are a valid header value");
    response.headers_mut().insert(super::headers::SESSION_ID, value);
    response
}

/// A POST to session `sid`: a request is answered on the POST (JSON or
/// SSE); a notification or response is accepted with 202. A response (to a
/// request the server sent the client) goes straight to the call waiting
/// for it, not through the session's channel, which a session at its
/// in-flight cap does not read.
pub(crate) async fn post(
    http: &Arc<Http>,
    sid: &str,
    incoming: Incoming<'_>,
    request: &HttpRequest,
) -> http::Response<Body> {
    let entry = match stored::find(http, sid, caller(&request.extensions)).await {
        Ok(entry) => entry,
        Err(refusal) => return *refusal,
    };
    entry.touch();
    if let Incoming::Response { id, outcome } = incoming {
        if entry.record.is_some() && !entry.pending.waits_for(&id) {
            // The call that waits for it may run in another replica.
            http.announce(sid, &SessionEvent::Answered { id, outcome });
        } else if !entry.pending.complete(&id, outcome) {
            let metrics = http.server.shared.core.metrics_ref();
            crate::metrics::incr(&metrics.responses_unmatched);
        }
        return body::empty(StatusCode::ACCEPTED);
    }
    if !matches!(incoming, Incoming::Request { .. }) {
        let (taken, took) = oneshot::channel();
        let inbound = Inbound::Notification {
            message: incoming.into_owned(),
            taken,
        };
        if let Err(refusal) = deliver(http, &entry, inbound).await {
            return refusal.response(None);
        }
        // 202 once the session has acted on it (a session at its cap takes
        // it once a call ends, within the request timeout).
        let waited = http.server.shared.config.request_timeout;
        return match tokio::time::timeout(waited, took).await {
            Ok(Ok(())) => match stored::save(http, &entry, None).await {
                Ok(()) => body::empty(StatusCode::ACCEPTED),
                Err(refusal) => *refusal,
            },
            Ok(Err(_ended)) => Undelivered::Gone.response(None),
            Err(_elapsed) => Undelivered::Busy {
                in_flight: http.server.shared.config.max_in_flight_per_session,
                waited,
            }
            .response(None),
        };
    }
    answer(http, &entry, incoming.into_owned(), request).await
}

/// Hands a request to its session with a stream of its own, then answers
/// with what that stream yields.
async fn answer(
    http: &Http,
    entry: &HttpSession,
    message: Incoming<'static>,
    request: &HttpRequest,
) -> http::Response<Body> {
    let id = match &message {
        Incoming::Request { id, .. } => Some(id.clone()),
        _ => None,
    };
    let token = entry.token.child_token();
    let core = &http.server.shared.core;
    let (outbox, rx) = core.request_outbox(entry.core_id, token.clone());
    let cancel = CancelOnDrop(token.clone());
    let priming = primes(entry);
    // Only a client that gets priming events (an event id before anything
    // else) can resume a stream its handler closed.
    let detach = priming.then(CancellationToken::new);
    let inbound = Inbound::Message {
        message,
        route: Route::Stream {
            outbox,
            token,
            detach: detach.clone(),
            request: Arc::clone(request),
        },
    };
    if let Err(refusal) = deliver(http, entry, inbound).await {
        return refusal.response(id.as_ref());
    }
    let parking = detach.clone();
    let answered = sse::answer_or_stream(rx, &entry.token, detach.as_ref(), |rx, first| {
        let stream = entry.streams.fetch_add(1, Ordering::Relaxed);
        let sse = Sse::new(rx, stream, entry.token.clone())
            .priming(priming)
            .logged(Arc::clone(&entry.replay), StreamKind::Request)
            .for_request(first, cancel);
        match parking {
            Some(detach) => sse.parking(Arc::clone(&entry.parked), detach),
            None => sse,
        }
    })
    .await;
    match answered {
        Some(response) => match stored::save(http, entry, id.as_ref()).await {
            Ok(()) => response,
            Err(refusal) => *refusal,
        },
        None => not_found(),
    }
}

/// Why a message could not reach its session.
enum Undelivered {
    /// The session ended (or is ending).
    Gone,
    /// Its channel stayed full for the whole request timeout.
    Busy { in_flight: usize, waited: Duration },
}

impl Undelivered {
    /// The answer of a POST whose message (a request with `id`, or not)
    /// could not be delivered.
    fn response(self, id: Option<&RequestId>) -> http::Response<Body> {
        match self {
            Self::Gone => not_found(),
            Self::Busy { in_flight, waited } => body::error(
                StatusCode::SERVICE_UNAVAILABLE,
                id,
                &ErrorObject::new(
                    SERVER_AT_CAPACITY,
                    format!(
                        "session busy: {in_flight} requests in flight for {} ms",
                        waited.as_millis()
                    ),
                ),
            ),
        }
    }
}

/// Puts a message into the session's channel, waiting for room within the
/// request timeout.
async fn deliver(http: &Http, entry: &HttpSession, inbound: Inbound) -> Result<(), Undelivered> {
    let waited = http.server.shared.config.request_timeout;
    match tokio::time::timeout(waited, entry.inbound.post(Box::new(inbound))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_closed)) => Err(Undelivered::Gone),
        Err(_elapsed) => Err(Undelivered::Busy {
            in_flight: http.server.shared.config.max_in_flight_per_session,
            waited,
        }),
    }
}

/// A DELETE: ends the session (only its own caller may), here and in the
/// session store.
pub(crate) async fn delete(http: &Arc<Http>, sid: &str, caller: Option<&Principal>) -> http::Response<Body> {
    if let Err(refusal) = stored::find(http, sid, caller).await {
        return *refusal;
    }
    if let Err(refusal) = stored::forget(http, sid).await {
        return *refusal;
    }
    http.announce(sid, &SessionEvent::Ended);
    match http.sessions.remove(sid) {
        Some(entry) => {
            entry.token.cancel();
            body::empty(StatusCode::OK)
        }
        None => not_found(),
    }
}
