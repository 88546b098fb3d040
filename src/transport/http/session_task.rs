//! The task of one 2025 HTTP session: it feeds the session's protocol
//! state the messages POSTs hand it (only below the in-flight cap), reaps
//! finished requests, and ends the session on cancellation (DELETE,
//! shutdown) or after `session_idle_timeout` with nothing running and no
//! standalone stream open; then it leaves the directory before its mailbox
//! closes, so no POST waits on a session that is gone.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::Http;
use super::keepalive::{Due, Upkeep, next_due, on_activity};
use super::parked::Parked;
use super::relay::Slot;
use crate::core::MailboxReceiver;
use crate::protocol::jsonrpc::Incoming;
use crate::server::engine::session::{Finished, Route, SessionState};
use crate::server::store::RecordCell;
use crate::sync::{Arc, oneshot};

/// What reaches a session's task through its mailbox (always boxed there,
/// so the variants' sizes do not matter).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Inbound {
    /// One client message, read once (by the service, which had to know
    /// what it is), with the route of its answer.
    Message {
        message: Incoming<'static>,
        route: Route,
    },
    /// A client notification (`notifications/initialized`, `cancelled`):
    /// `taken` is told once the session has acted on it, so that the POST's
    /// 202 means it took effect (a broadcast after the 202 of
    /// `notifications/initialized` reaches the session).
    Notification {
        message: Incoming<'static>,
        taken: oneshot::Sender<()>,
    },
    /// End the session if it is idle, to make room for a new client (see
    /// `evict.rs`); the answer says whether it ended, once its permit is
    /// back.
    Evict(oneshot::Sender<bool>),
}

/// Why a session's task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuitReason {
    /// DELETE, shutdown, or the `Disconnect` full policy.
    Cancelled,
    /// Idle for `session_idle_timeout`.
    Expired,
    /// Idle, and ended to admit a new client.
    Evicted,
}

enum Event {
    Cancelled,
    Finished(Finished),
    Inbound(Box<Inbound>),
    /// The upkeep of a stored session.
    Upkeep(Due),
    Idle,
}

/// The task of one HTTP session.
///
/// A plain function returning an `async move` block, not an `async fn`: an
/// `async fn` keeps each argument twice in its future (as passed, and as
/// moved into the body), and this future lives as long as the session.
#[allow(clippy::manual_async_fn)]
pub(super) fn run(
    http: Arc<Http>,
    sid: String,
    mut state: SessionState,
    mut inbound: MailboxReceiver<Box<Inbound>>,
    standalone: Slot,
    parked: Arc<Parked>,
    record: Option<Arc<RecordCell>>,
) -> impl Future<Output = ()> {
    async move {
        let token = state.session().token().clone();
        let idle: Duration = http.server.shared.config.http.session_idle_timeout;
        let timer = tokio::time::sleep(idle);
        tokio::pin!(timer);
        let mut upkeep = Upkeep::new(&http, record);
        let mut evicted = None;
        let reason = loop {
            let can_read = state.can_read();
            let event = tokio::select! {
                biased;
                // Cancel-safe: only waits.
                () = token.cancelled() => Event::Cancelled,
                // Cancel-safe: join_next leaves unfinished tasks in the set.
                done = state.next_finished() => Event::Finished(done),
                // Cancel-safe: mpsc::Receiver::recv never loses a message.
                Some(message) = inbound.recv(), if can_read => Event::Inbound(message),
                // Cancel-safe: the upkeep keeps its timer and arrival.
                due = next_due(&mut upkeep) => Event::Upkeep(due),
                // Cancel-safe: a timer.
                () = &mut timer => Event::Idle,
            };
            match event {
                Event::Cancelled => break QuitReason::Cancelled,
                Event::Finished(done) => state.on_finished(done),
                Event::Upkeep(Due::Refresh) => {
                    if let Some(upkeep) = upkeep.as_mut().filter(|_| !is_idle(&state, &standalone, &parked)) {
                        upkeep.touch();
                    }
                    // Not activity: the idle timer runs on.
                    continue;
                }
                Event::Upkeep(Due::Changed(record)) => {
                    state.apply(&record);
                    continue;
                }
                Event::Inbound(inbound) => match *inbound {
                    Inbound::Message { message, route } => {
                        on_activity(&mut upkeep);
                        state.on_incoming(Ok(message), &route);
                    }
                    Inbound::Notification { message, taken } => {
                        on_activity(&mut upkeep);
                        state.on_incoming(Ok(message), &Route::Session);
                        let _ = taken.send(());
                    }
                    Inbound::Evict(reply) if is_idle(&state, &standalone, &parked) => {
                        evicted = Some(reply);
                        break QuitReason::Evicted;
                    }
                    Inbound::Evict(reply) => {
                        let _ = reply.send(false);
                    }
                },
                Event::Idle => {
                    if is_idle(&state, &standalone, &parked) {
                        break QuitReason::Expired;
                    }
                }
            }
            timer.as_mut().reset(Instant::now() + idle);
        };
        // Gone from the directory first, so that no new POST finds it; then the
        // mailbox ends, and POSTs waiting on it or on their answers get 404.
        http.sessions.ended(&sid);
        inbound.end();
        state.end_requests().await;
        tracing::debug!(session = %state.session().id(), ?reason, "HTTP session ended");
        // Its permit goes back with its state, before the evictor hears.
        drop(state);
        if let Some(reply) = evicted {
            crate::metrics::incr(&http.server.shared.core.metrics_ref().sessions_evicted);
            let _ = reply.send(true);
        }
    }
}

/// True if nothing of the session runs here: no request, no standalone
/// stream, no request stream followed from the store.
fn is_idle(state: &SessionState, standalone: &Slot, parked: &Parked) -> bool {
    !state.is_busy() && !standalone.is_open() && !parked.is_followed()
}
