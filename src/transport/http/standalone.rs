//! A 2025 session's standalone stream: the GET that opens it (one at a
//! time), and its resumption with `Last-Event-ID`, which replays what a
//! broken stream (standalone or a request's) carried after that id.

use http::StatusCode;

use super::Http;
use super::body::{self, Body};
use super::entry::primes;
use super::replay::parse_event_id;
use super::sse::Sse;
use crate::auth::Principal;
use crate::protocol::jsonrpc::ErrorObject;
use crate::server::store::{SessionEvent, StreamKind};
use crate::sync::{Arc, Ordering};

/// A GET: the session's standalone stream (one at a time: 409 for a
/// second). With `Last-Event-ID`, the events of that stream after it come
/// first: a standalone stream then goes on live; a request's stream goes
/// on until its answer, live from its request's outbox if it is parked
/// here (its handler closed it while it runs), else from the session's log
/// (`follow.rs`), and ends with what was logged if its answer is in it.
pub(crate) async fn standalone(
    http: &Arc<Http>,
    sid: &str,
    last_event_id: Option<&str>,
    caller: Option<&Principal>,
) -> http::Response<Body> {
    let entry = match super::stored::find(http, sid, caller).await {
        Ok(entry) => entry,
        Err(refusal) => return *refusal,
    };
    entry.touch();
    let named = last_event_id.and_then(parse_event_id);
    if let Some((stream, seq)) = named
        && let Some(parked) = entry.parked.take(stream)
    {
        let replayed = entry
            .replay
            .after(stream, seq)
            .map(|r| r.events)
            .unwrap_or_default();
        return Sse::resumed(parked, Arc::clone(&entry.parked), entry.token.clone())
            .replaying(replayed)
            .logged(Arc::clone(&entry.replay), StreamKind::Request)
            .response();
    }
    let replay = match named {
        Some((stream, seq)) => match super::stored::replay(http, &entry, stream, seq).await {
            Ok(replay) => replay,
            Err(refusal) => return *refusal,
        },
        None => None,
    };
    tracing::debug!(mcp_session_id = %sid, ?named, replayed = ?replay.as_ref().map(|r| r.kind), "standalone GET");
    let count_lost = |lost| {
        let metrics = http.server.shared.core.metrics_ref();
        metrics.replay_lost.fetch_add(lost, Ordering::Relaxed);
    };
    let replay = match (named, replay) {
        (Some((stream, _)), Some(replay)) if replay.kind == StreamKind::Request => {
            return super::follow::follow(http, sid, &entry, stream, replay);
        }
        (_, standalone) => standalone,
    };
    // The standalone stream first: a GET refused (409, the previous stream
    // still closing) counts nothing as lost, so its retry does not count
    // the same events twice.
    let Some(rx) = entry.standalone.open().await else {
        return body::error(
            StatusCode::CONFLICT,
            None,
            &ErrorObject::new(
                crate::protocol::jsonrpc::INVALID_REQUEST,
                "a standalone stream is already open for this session",
            ),
        );
    };
    if entry.record.is_some() {
        // Other replicas' copies relay what they have for this stream.
        http.announce(sid, &SessionEvent::Listening);
    }
    let stream = entry.streams.fetch_add(1, Ordering::Relaxed);
    let replayed = replay.map_or_else(Vec::new, |replay| {
        count_lost(replay.lost);
        replay.events
    });
    Sse::new(rx, stream, entry.token.clone())
        .priming(primes(&entry))
        .replaying(replayed)
        .logged(Arc::clone(&entry.replay), StreamKind::Standalone)
        .returning_to(entry.standalone.clone())
        .response()
}
