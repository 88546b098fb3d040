//! Nobody locks others out of the session table: at `max_sessions` (or at
//! a caller's own quota, `HttpConfig::max_sessions_per_principal`), a new
//! 2025 session is made room for by ending the least recently active
//! *idle* session (no request running, no standalone stream open). Its
//! client's next request gets 404 and it initializes again, as the 2025
//! transport specifies. Only when every candidate is busy is the new
//! client refused (503; 429 at its own quota).
//!
//! Whether a session is idle is decided by its own task (`session_task.rs`)
//! when the request to leave reaches it, not from a reading that may be
//! stale: a busy session stays. The task answers once its permit is back,
//! so the new client's admission that follows finds it.

use std::time::Duration;

use http::StatusCode;

use super::Http;
use super::body::{self, Body};
use super::entry::HttpSession;
use super::session_task::Inbound;
use crate::auth::Principal;
use crate::protocol::jsonrpc::{ErrorObject, RequestId, SERVER_AT_CAPACITY};
use crate::sync::oneshot;

/// How many candidates, least recently active first, are asked to leave.
const MAX_CANDIDATES: usize = 8;
/// How long a candidate may take to answer (an idle session's task
/// answers at once; one that does not is busy).
const ANSWER_WITHIN: Duration = Duration::from_millis(250);

/// Ends one idle session among `candidates`, least recently active first;
/// true if one ended.
async fn evict_one(mut candidates: Vec<HttpSession>) -> bool {
    candidates.sort_by_key(HttpSession::last_seen);
    for candidate in candidates.into_iter().take(MAX_CANDIDATES) {
        let (tx, rx) = oneshot::channel();
        let asked = tokio::time::timeout(ANSWER_WITHIN, candidate.post(Inbound::Evict(tx))).await;
        if !matches!(asked, Ok(Ok(()))) {
            continue;
        }
        if let Ok(Ok(true)) = tokio::time::timeout(ANSWER_WITHIN, rx).await {
            return true;
        }
    }
    false
}

/// Makes room for a new session of `caller`, if there is none: at the
/// server's cap, ends an idle session; at `caller`'s quota, one of its
/// own. `Err` with the answer (429) to `initialize` request `id` when the
/// caller is at its quota and none of its sessions is idle.
pub(super) async fn make_room(
    http: &Http,
    id: &RequestId,
    caller: Option<&Principal>,
) -> Result<(), Box<http::Response<Body>>> {
    let quota = http.server.shared.config.http.max_sessions_per_principal;
    if let (Some(quota), Some(caller)) = (quota, caller) {
        let own: Vec<HttpSession> = http
            .sessions
            .values()
            .into_iter()
            .filter(|s| s.belongs_to(caller))
            .collect();
        if own.len() >= quota && !evict_one(own).await {
            let error = ErrorObject::new(
                SERVER_AT_CAPACITY,
                format!("this caller holds its quota of {quota} sessions, all busy"),
            );
            let error = error.with_data(serde_json::json!({"maxSessionsPerPrincipal": quota}));
            return Err(Box::new(body::error(
                StatusCode::TOO_MANY_REQUESTS,
                Some(id),
                &error,
            )));
        }
    }
    make_server_room(http).await;
    Ok(())
}

/// At the server's cap, ends an idle session (if there is one).
pub(super) async fn make_server_room(http: &Http) {
    let core = &http.server.shared.core;
    if core.available_permits() == 0 && !core.is_shutting_down() {
        evict_one(http.sessions.values()).await;
    }
}
