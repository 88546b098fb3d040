//! 2025 sessions kept in a session store (`crate::server::store`):
//! finding one this replica does not hold, saving a session's record before
//! the POST that changed it is answered, forgetting it on DELETE, and
//! finding a stream another replica wrote in the event store.
//! (`keepalive.rs` keeps a record alive while its session is used here.)
//!
//! Without a store every function here is a lookup in the directory or
//! nothing at all. With one, the store is called only on a miss (a session
//! this replica does not hold), on a change, on DELETE, and by a touch that
//! nothing waits for.

use std::time::Duration;

use http::StatusCode;

use super::Http;
use super::body::{self, Body};
use super::entry::{self, HttpSession, not_found};
use super::evict;
use super::replay::Replay;
use crate::auth::Principal;
use crate::metrics::incr;
use crate::protocol::jsonrpc::{ErrorObject, INTERNAL_ERROR, RequestId};
use crate::server::engine::session::SessionState;
use crate::server::store::{RecordCell, SessionEvent, StoreError};
use crate::sync::Arc;

/// The longest a request waits for the session store.
pub(super) const STORE_WAIT: Duration = Duration::from_secs(2);

/// A refusal: the response to send instead.
type Refusal = Box<http::Response<Body>>;

/// Session `sid` for `caller`: the one this replica holds, or one resumed
/// from the session store. `Err` with a 404 for a session that does not
/// exist (or is another caller's), a 503 when the store cannot answer or
/// this replica has no room.
pub(super) async fn find(
    http: &Arc<Http>,
    sid: &str,
    caller: Option<&Principal>,
) -> Result<HttpSession, Refusal> {
    if let Some(entry) = http.sessions.get(sid) {
        // Another caller's session is answered as an unknown one.
        return entry
            .serves(caller)
            .then_some(entry)
            .ok_or_else(|| Box::new(not_found()));
    }
    let Some(store) = &http.server.shared.session_store else {
        return Err(Box::new(not_found()));
    };
    let record = match tokio::time::timeout(STORE_WAIT, store.load(sid)).await {
        Ok(Ok(Some(record))) => record,
        Ok(Ok(None)) => return Err(Box::new(not_found())),
        Ok(Err(error)) => return Err(unavailable(http, None, &error)),
        Err(_elapsed) => return Err(unavailable(http, None, &late())),
    };
    let owner = record.owner.as_ref().map(|owner| Arc::new(owner.principal()));
    if !entry::serves(owner.as_deref(), caller) {
        return Err(Box::new(not_found()));
    }
    evict::make_server_room(http).await;
    let (core_session, outbox) = super::admit(http, None)?;
    let cell = Arc::new(RecordCell::saved(sid.to_owned(), record.clone()));
    let shared = std::sync::Arc::clone(&http.server.shared);
    let Some(state) = SessionState::resume(shared, core_session, &record, Arc::clone(&cell)) else {
        tracing::warn!(mcp_session_id = %sid, version = %record.protocol_version, "stored session of a version not spoken here");
        return Err(Box::new(not_found()));
    };
    match entry::start(http, sid.to_owned(), state, outbox, owner, Some(cell)) {
        Ok(entry) => {
            incr(&http.server.shared.core.metrics_ref().sessions_resumed);
            tracing::debug!(mcp_session_id = %sid, "HTTP session resumed from the store");
            // The replica holding its standalone stream, if any, tells the new copy.
            http.announce(sid, &SessionEvent::Joined);
            Ok(entry)
        }
        // Another request resumed it first.
        Err(held) => held
            .serves(caller)
            .then_some(held)
            .ok_or_else(|| Box::new(not_found())),
    }
}

/// Saves `entry`'s record if it changed, before the POST that changed it
/// (a request with `id`, or a notification) is answered. `Err` with a 503:
/// the change holds here but other replicas would not see it, so the
/// client should send it again.
pub(super) async fn save(http: &Http, entry: &HttpSession, id: Option<&RequestId>) -> Result<(), Refusal> {
    let (Some(cell), Some(store)) = (&entry.record, &http.server.shared.session_store) else {
        return Ok(());
    };
    if !cell.unsaved() {
        return Ok(());
    }
    let ttl = http.server.shared.config.http.session_idle_timeout;
    match tokio::time::timeout(STORE_WAIT, cell.flush(&**store, ttl)).await {
        Ok(Ok(saved)) => {
            if let Some(record) = saved {
                http.announce(cell.sid(), &SessionEvent::Changed { record });
            }
            Ok(())
        }
        Ok(Err(error)) => Err(unavailable(http, id, &error)),
        Err(_elapsed) => Err(unavailable(http, id, &late())),
    }
}

/// Removes session `sid` from the session store (a DELETE), and its
/// streams' events from the event store. `Err` with a 503 when the session
/// store cannot; the session then goes on.
pub(super) async fn forget(http: &Http, sid: &str) -> Result<(), Refusal> {
    if let Some(store) = &http.server.shared.session_store {
        match tokio::time::timeout(STORE_WAIT, store.remove(sid)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(unavailable(http, None, &error)),
            Err(_elapsed) => return Err(unavailable(http, None, &late())),
        }
    }
    if let Some(events) = &http.server.shared.event_store {
        events.forget(sid);
    }
    Ok(())
}

/// The events of stream `stream` of `entry`'s session after event `after`,
/// from this replica's log or else the event store. `Err` with a 503 when
/// the store cannot answer.
pub(super) async fn replay(
    http: &Http,
    entry: &HttpSession,
    stream: u64,
    after: u64,
) -> Result<Option<Replay>, Refusal> {
    match tokio::time::timeout(STORE_WAIT, entry.replay.find(stream, after)).await {
        Ok(Ok(replay)) => Ok(replay),
        Ok(Err(error)) => Err(unavailable(http, None, &error)),
        Err(_elapsed) => Err(unavailable(http, None, &late())),
    }
}

fn late() -> StoreError {
    StoreError(format!("no answer within {} ms", STORE_WAIT.as_millis()))
}

/// 503 with a JSON-RPC error (to request `id`, if any) saying the store
/// failed and that the request may be sent again; counted.
fn unavailable(http: &Http, id: Option<&RequestId>, error: &StoreError) -> Refusal {
    incr(&http.server.shared.core.metrics_ref().store_failures);
    tracing::warn!(%error, "session store failed");
    let error = ErrorObject::new(INTERNAL_ERROR, format!("{error}; send the request again"));
    let mut response = body::error(StatusCode::SERVICE_UNAVAILABLE, id, &error);
    response
        .headers_mut()
        .insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"));
    Box::new(response)
}
