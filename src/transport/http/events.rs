//! What this service does with the events other replicas announce about
//! 2025 sessions through the session store (`crate::server::store`): a
//! deleted session's copy here ends, a changed record is taken up by the
//! copy here, a client's answer reaches the call here that waits for it,
//! and a stream parked here that another replica follows is written to the
//! event store (`follow.rs`). Each acts only on a session this service holds, and never waits.
//! When the store may have missed events, every session held is checked
//! against its record.

use super::Http;
use super::stored::STORE_WAIT;
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
            SessionEvent::Listening => {
                if let Some(entry) = self.sessions.get(sid)
                    && entry.standalone.listened_elsewhere()
                {
                    tracing::debug!(mcp_session_id = %sid, "standalone messages relayed to another replica");
                }
            }
            SessionEvent::Joined => {
                if self
                    .sessions
                    .get(sid)
                    .is_some_and(|entry| entry.standalone.is_open())
                {
                    self.announce(sid, &SessionEvent::Listening);
                }
            }
            SessionEvent::Relayed { message } => {
                if let Some(entry) = self.sessions.get(sid)
                    && let Some(frame) = entry.standalone.take(message)
                {
                    // A full outbox counts the message as dropped.
                    let _ = self.server.shared.core.notify(entry.core_id, frame);
                }
            }
            SessionEvent::Follow { stream } => {
                if let Some(entry) = self.sessions.get(sid)
                    && super::follow::drain(&entry, stream)
                {
                    tracing::debug!(mcp_session_id = %sid, stream, "parked HTTP stream followed through another replica");
                }
            }
        }
    }

    fn resync(&self) {
        self.resync_all();
    }
}

impl Http {
    /// Checks every stored session held here against its record, in one
    /// task, one load at a time: a session whose record is gone ends here,
    /// one whose record changed takes it up.
    fn resync_all(&self) {
        let Some(store) = self.server.shared.session_store.clone() else {
            return;
        };
        let held: Vec<_> = self
            .sessions
            .values()
            .into_iter()
            .filter_map(|entry| Some((entry.record?, entry.token)))
            .collect();
        if held.is_empty() {
            return;
        }
        tokio::spawn(async move {
            for (cell, token) in held {
                match tokio::time::timeout(STORE_WAIT, store.load(cell.sid())).await {
                    Ok(Ok(Some(record))) => cell.arrive(record),
                    Ok(Ok(None)) => {
                        tracing::debug!(mcp_session_id = %cell.sid(), "HTTP session gone from the store");
                        token.cancel();
                    }
                    // Checked again after the next loss; the copy ends
                    // when it goes idle in any case.
                    Ok(Err(_)) | Err(_) => {}
                }
            }
        });
    }

    /// Tells the other replicas (and services) sharing the session store
    /// `event` about session `sid`, if there is a store.
    pub(super) fn announce(&self, sid: &str, event: &SessionEvent) {
        if let Some(store) = &self.server.shared.session_store {
            store.announce(self.origin, sid, event);
        }
    }
}
