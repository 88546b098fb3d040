//! What this service does with the events other replicas announce about
//! 2025 sessions through the session store (`crate::server::store`): a
//! deleted session's copy here ends, a changed record is taken up by the
//! copy here, and a client's answer reaches the call here that waits for
//! it. Each acts only on a session this service holds, and never waits.

use super::Http;
use crate::server::store::{SessionEvent, SessionEvents};

impl SessionEvents for Http {
    fn on_event(&self, sid: &str, event: SessionEvent) {
        match event {
            SessionEvent::Ended => {
                if let Some(entry) = self.sessions.remove(sid) {
                    tracing::debug!(mcp_session_id = %sid, "HTTP session deleted through another replica");
                    entry.token.cancel();
                }
            }
            SessionEvent::Changed { record } => {
                if let Some(cell) = self.sessions.get(sid).and_then(|entry| entry.record) {
                    cell.arrive(record);
                }
            }
            SessionEvent::Answered { id, outcome } => {
                if let Some(entry) = self.sessions.get(sid) {
                    entry.pending.complete(&id, outcome);
                }
            }
        }
    }
}

impl Http {
    /// Tells the other replicas (and services) sharing the session store
    /// `event` about session `sid`, if there is a store.
    pub(super) fn announce(&self, sid: &str, event: &SessionEvent) {
        if let Some(store) = &self.server.shared.session_store {
            store.announce(self.origin, sid, event);
        }
    }
}
