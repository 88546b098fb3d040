//! Reaching live sessions: a notification to one or to all, disconnecting
//! one, reading them. Invariant 4 of `lifecycle.rs` holds here: what a send
//! needs is cloned under the registry lock (inside `Registry::get` and
//! `snapshot`) and sent after the lock is dropped.

use bytes::Bytes;
use serde::Serialize;

use super::SessionId;
use super::lifecycle::Core;
use crate::error::NotifyError;

/// What a broadcast did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BroadcastReport {
    /// Sessions whose outbox took the message.
    pub queued: usize,
    /// Sessions whose outbox was full; the message was dropped and counted.
    pub dropped: usize,
    /// Sessions that ended between the snapshot and the send.
    pub gone: usize,
}

/// A reading of one live session.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SessionInfo {
    /// The session's id.
    pub id: SessionId,
    /// Messages waiting in its outbox.
    pub queue_depth: usize,
    /// The protocol version it speaks, once known.
    pub protocol_version: Option<&'static str>,
}

impl Core {
    /// Queues a notification for one session without waiting.
    ///
    /// # Errors
    ///
    /// As [`OutboxSender::try_notify`](super::OutboxSender::try_notify); [`NotifyError::Gone`] if no session
    /// has this id.
    pub fn notify(&self, id: SessionId, frame: Bytes) -> Result<(), NotifyError> {
        // The guard is dropped at the end of this statement.
        let entry = self.inner.registry.get(id);
        match entry {
            Some(entry) => entry.outbox.try_notify(frame),
            None => Err(NotifyError::Gone(id)),
        }
    }

    /// Queues a notification for every session whose gate admits `level`,
    /// without waiting: a full outbox is that session's problem.
    pub fn broadcast(&self, frame: &Bytes, level: u8) -> BroadcastReport {
        let targets = self.inner.registry.snapshot(|entry| entry.attrs.admits(level));
        let mut report = BroadcastReport::default();
        for (_, entry) in targets {
            match entry.outbox.try_notify(frame.clone()) {
                Ok(()) => report.queued += 1,
                Err(NotifyError::Gone(_)) => report.gone += 1,
                Err(_) => report.dropped += 1,
            }
        }
        report
    }

    /// Cancels one session (its task then ends and deregisters it); false if
    /// no session has this id.
    pub fn disconnect(&self, id: SessionId) -> bool {
        let entry = self.inner.registry.get(id);
        entry.map(|entry| entry.token.cancel()).is_some()
    }

    /// Readings of every live session.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        let mut sessions: Vec<SessionInfo> = self
            .inner
            .registry
            .snapshot(|_| true)
            .into_iter()
            .map(|(id, entry)| SessionInfo {
                id,
                queue_depth: entry.outbox.depth(),
                protocol_version: entry.attrs.protocol_version(),
            })
            .collect();
        sessions.sort_by_key(|s| s.id);
        sessions
    }
}
