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
use tracing::Instrument;

use super::Http;
use super::body::{self, Body};
use super::cancel::CancelOnDrop;
use super::parked::Parked;
use super::replay::{ReplayLog, StreamKind};
use super::session_task::{Inbound, run};
use super::sse::{self, Slot, Sse};
use crate::auth::Principal;
use crate::config::{ReplicaId, stamped};
use crate::core::{Directory, Mailbox, SessionAttrs, SessionId, mailbox};
use crate::protocol::jsonrpc::{ErrorObject, Incoming, RequestId, SERVER_AT_CAPACITY};
use crate::protocol::params::Params;
use crate::server::HttpRequest;
use crate::server::engine::session::{Route, SessionState};
use crate::server::ext::client_requests::Pending;
use crate::sync::{Arc, AtomicU64, CancellationToken, Mutex, Ordering, oneshot, random_fill};

/// The version from which SSE streams start with a priming event (older
/// clients choke on its empty data).
const PRIMING_SINCE: &str = "2025-11-25";

/// What the table keeps of a live HTTP session. Cheap to clone.
#[derive(Clone)]
pub(crate) struct HttpSession {
    core_id: SessionId,
    pub(super) token: CancellationToken,
    /// Boxed: a mailbox's channel allocates its first block of slots up
    /// front, and a boxed slot is a tenth of an unboxed one (2.5 KiB less
    /// per idle session).
    inbound: Mailbox<Box<Inbound>>,
    /// The outbox's receiver while no standalone stream has it.
    pub(super) standalone: Slot,
    attrs: Arc<SessionAttrs>,
    /// Numbers the session's streams, each GET and each SSE answer.
    pub(super) streams: Arc<AtomicU64>,
    /// The last events of the last streams, for `Last-Event-ID`.
    pub(super) replay: Arc<ReplayLog>,
    /// Request streams closed by their handlers, waiting to be resumed.
    pub(super) parked: Arc<Parked>,
    /// Requests the session's handlers sent the client, waiting for its
    /// answers (shared with the session's state).
    pending: Arc<Pending>,
    /// The caller that opened the session, when requests are
    /// authenticated: only it may use the session.
    owner: Option<Arc<Principal>>,
    /// When a request last named the session (microseconds since the
    /// process's clock started): which idle session leaves first.
    seen: Arc<AtomicU64>,
}

impl HttpSession {
    /// When a request last named the session.
    pub(super) fn last_seen(&self) -> u64 {
        self.seen.load(Ordering::Relaxed)
    }

    /// Notes that a request names the session now.
    pub(super) fn touch(&self) {
        self.seen.store(clock_us(), Ordering::Relaxed);
    }

    /// True if `caller` opened the session.
    pub(super) fn belongs_to(&self, caller: &Principal) -> bool {
        self.owner.as_ref().is_some_and(|owner| owner.same_caller(caller))
    }

    /// Hands the session's task `inbound`, waiting for room.
    pub(super) async fn post(&self, inbound: Inbound) -> Result<(), Box<Inbound>> {
        self.inbound.post(Box::new(inbound)).await
    }

    /// True if `caller` may use this session: the caller that opened it
    /// (the same issuer, subject and client), or anyone for a session
    /// opened without authentication.
    pub(super) fn serves(&self, caller: Option<&Principal>) -> bool {
        match (&self.owner, caller) {
            (None, _) => true,
            (Some(owner), Some(caller)) => owner.same_caller(caller),
            (Some(_), None) => false,
        }
    }
}

/// Microseconds on a clock that only goes forward.
fn clock_us() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_micros() as u64
}

/// The caller of a request, as authorization found it.
pub(crate) fn caller(extensions: &http::Extensions) -> Option<&Principal> {
    extensions.get()
}

/// Live HTTP sessions by id.
pub(crate) type Sessions = Directory<HttpSession>;

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
    let (session, outbox) = match super::admit(http, &id) {
        Ok(admitted) => admitted,
        Err(refusal) => return *refusal,
    };
    let capacity = http.server.shared.config.max_in_flight_per_session;
    let (tx, rx) = mailbox(capacity);
    let (core_id, token, attrs) = (session.id(), session.token().clone(), Arc::clone(session.attrs()));
    let state = SessionState::new(std::sync::Arc::clone(&http.server.shared), session);
    let entry = HttpSession {
        core_id,
        token,
        inbound: tx,
        standalone: Arc::new(Mutex::new(Some(outbox))),
        attrs,
        streams: Arc::new(AtomicU64::new(1)),
        replay: Arc::new(ReplayLog::default()),
        parked: Arc::new(Parked::new(Arc::clone(http.server.shared.core.metrics_ref()))),
        pending: state.pending(),
        owner: caller.cloned().map(Arc::new),
        seen: Arc::new(AtomicU64::new(clock_us())),
    };
    let sid = new_session_id(http.server.shared.config.replica_id.as_ref());
    http.sessions.insert(sid.clone(), entry.clone());
    let span =
        tracing::debug_span!("session", id = %entry.core_id, transport = "http", mcp_session_id = %sid);
    http.spawn_session(
        run(Arc::clone(http), sid.clone(), state, rx, entry.standalone.clone()).instrument(span),
    );
    tracing::debug!(session = %entry.core_id, "HTTP session started");
    let message = Incoming::Request {
        id,
        method: "initialize".into(),
        params: params.into_owned(),
    };
    let mut response = answer(http, &entry, message, request).await;
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
    http: &Http,
    sid: &str,
    incoming: Incoming<'_>,
    request: &HttpRequest,
) -> http::Response<Body> {
    // Another caller's session is answered as an unknown one.
    let Some(entry) = http
        .sessions
        .get(sid)
        .filter(|e| e.serves(caller(&request.extensions)))
    else {
        return not_found();
    };
    entry.touch();
    if let Incoming::Response { id, outcome } = incoming {
        if !entry.pending.complete(&id, outcome) {
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
            Ok(Ok(())) => body::empty(StatusCode::ACCEPTED),
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
    answered.unwrap_or_else(not_found)
}

/// True if the session's client gets priming events.
pub(super) fn primes(entry: &HttpSession) -> bool {
    entry
        .attrs
        .protocol_version()
        .is_some_and(|version| version >= PRIMING_SINCE)
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

/// A DELETE: ends the session (only its own caller may).
pub(crate) fn delete(http: &Http, sid: &str, caller: Option<&Principal>) -> http::Response<Body> {
    if !http.sessions.get(sid).is_some_and(|e| e.serves(caller)) {
        return not_found();
    }
    match http.sessions.remove(sid) {
        Some(entry) => {
            entry.token.cancel();
            body::empty(StatusCode::OK)
        }
        None => not_found(),
    }
}

pub(super) fn not_found() -> http::Response<Body> {
    body::error(
        StatusCode::NOT_FOUND,
        None,
        &ErrorObject::new(
            crate::protocol::jsonrpc::INVALID_REQUEST,
            "session not found: it ended or never existed; initialize a new one",
        ),
    )
}
