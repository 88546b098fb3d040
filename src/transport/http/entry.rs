//! The entry of one live 2025 HTTP session in the replica's directory
//! (`Sessions`), what may use it, and how a session starts: registered
//! under its id, with its task running.

use http::StatusCode;
use tracing::Instrument;

use super::Http;
use super::body::{self, Body};
use super::parked::Parked;
use super::relay::{RelayTo, Slot, Standalone};
use super::replay::ReplayLog;
use super::session_task::{Inbound, run};
use crate::auth::Principal;
use crate::core::{Directory, Mailbox, OutboxReceiver, SessionAttrs, SessionId, mailbox};
use crate::protocol::jsonrpc::ErrorObject;
use crate::server::engine::session::SessionState;
use crate::server::ext::client_requests::Pending;
use crate::server::store::RecordCell;
use crate::sync::{Arc, AtomicU64, CancellationToken, Ordering};

/// The version from which SSE streams start with a priming event (older
/// clients choke on its empty data).
const PRIMING_SINCE: &str = "2025-11-25";

/// What the table keeps of a live HTTP session. Cheap to clone.
#[derive(Clone)]
pub(crate) struct HttpSession {
    pub(super) core_id: SessionId,
    pub(super) token: CancellationToken,
    /// Boxed: a mailbox's channel allocates its first block of slots up
    /// front, and a boxed slot is a tenth of an unboxed one (2.5 KiB less
    /// per idle session).
    pub(super) inbound: Mailbox<Box<Inbound>>,
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
    pub(super) pending: Arc<Pending>,
    /// The caller that opened the session, when requests are
    /// authenticated: only it may use the session.
    owner: Option<Arc<Principal>>,
    /// When a request last named the session (microseconds since the
    /// process's clock started): which idle session leaves first.
    seen: Arc<AtomicU64>,
    /// Its latest record, when a session store keeps it.
    pub(super) record: Option<Arc<RecordCell>>,
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

    /// True if `caller` may use this session (see [`serves`]).
    pub(super) fn serves(&self, caller: Option<&Principal>) -> bool {
        serves(self.owner.as_deref(), caller)
    }
}

/// True if `caller` may use a session opened by `owner`: the same caller
/// (the same issuer, subject and client), or anyone for a session opened
/// without authentication.
pub(super) fn serves(owner: Option<&Principal>, caller: Option<&Principal>) -> bool {
    match (owner, caller) {
        (None, _) => true,
        (Some(owner), Some(caller)) => owner.same_caller(caller),
        (Some(_), None) => false,
    }
}

/// The number of a session copy's first stream: random in its upper half,
/// so that the streams of copies of one session on several replicas never
/// share a number (an event id names its stream).
fn first_stream() -> u64 {
    let mut bits = [0u8; 4];
    crate::sync::random_fill(&mut bits);
    (u64::from(u32::from_le_bytes(bits) >> 1) << 32) | 1
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

/// Registers session `sid` (its protocol state, the receiver of its
/// outbox, who opened it, where its record goes) and starts its task; the
/// entry. `Err` with the entry already under `sid`, if one is (`state`
/// is then dropped and its permit returns).
pub(super) fn start(
    http: &Arc<Http>,
    sid: String,
    state: SessionState,
    outbox: OutboxReceiver,
    owner: Option<Arc<Principal>>,
    record: Option<Arc<RecordCell>>,
) -> Result<HttpSession, HttpSession> {
    let capacity = http.server.shared.config.max_in_flight_per_session;
    let (tx, rx) = mailbox(capacity);
    let session = state.session();
    let entry = HttpSession {
        core_id: session.id(),
        token: session.token().clone(),
        inbound: tx,
        standalone: Standalone::new(
            outbox,
            relay_to(http, &sid, &state, record.is_some()),
            Arc::clone(http.server.shared.core.metrics_ref()),
        ),
        attrs: Arc::clone(session.attrs()),
        streams: Arc::new(AtomicU64::new(first_stream())),
        replay: Arc::new(match &http.server.shared.event_store {
            Some(store) => {
                let ttl = http.server.shared.config.http.session_idle_timeout;
                ReplayLog::shared(Arc::clone(store), &sid, ttl)
            }
            None => ReplayLog::default(),
        }),
        parked: Arc::new(Parked::new(Arc::clone(http.server.shared.core.metrics_ref()))),
        pending: state.pending(),
        owner,
        seen: Arc::new(AtomicU64::new(clock_us())),
        record,
    };
    http.sessions.insert_new(sid.clone(), entry.clone())?;
    let span =
        tracing::debug_span!("session", id = %entry.core_id, transport = "http", mcp_session_id = %sid);
    let task = run(
        Arc::clone(http),
        sid,
        state,
        rx,
        entry.standalone.clone(),
        Arc::clone(&entry.parked),
        entry.record.clone(),
    );
    http.spawn_session(task.instrument(span));
    tracing::debug!(session = %entry.core_id, "HTTP session started");
    Ok(entry)
}

/// Where session `sid`'s copy relays its standalone messages when another
/// replica holds the stream: only for a session kept in a store.
fn relay_to(http: &Http, sid: &str, state: &SessionState, stored: bool) -> Option<RelayTo> {
    let store = http.server.shared.session_store.as_ref().filter(|_| stored)?;
    Some(RelayTo {
        store: Arc::clone(store),
        origin: http.origin,
        sid: sid.to_owned(),
        stop: state.session().token().clone(),
    })
}

/// True if the session's client gets priming events.
pub(super) fn primes(entry: &HttpSession) -> bool {
    entry
        .attrs
        .protocol_version()
        .is_some_and(|version| version >= PRIMING_SINCE)
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
