//! Error types, one per failure domain.

use crate::session_id::SessionId;

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdmitError {
    /// Every one of the `limit` permits is held by a live session.
    #[error("server at capacity (max_sessions = {limit})")]
    AtCapacity {
        /// The configured `max_sessions`.
        limit: usize,
    },
    /// Shutdown has begun; no new session is registered.
    #[error("server is shutting down")]
    ShuttingDown,
}

/// Why a notification did not reach a session's outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// No live session has this id (it never existed or has ended).
    #[error("session {0} is gone")]
    Gone(SessionId),
    /// The outbox was full; the message was dropped and counted.
    #[error("outbox of session {0} is full; message dropped")]
    Dropped(SessionId),
    /// The outbox was full; the message was dropped and counted, and the
    /// session is being disconnected (policy [`crate::FullPolicy::Disconnect`]).
    #[error("outbox of session {0} is full; message dropped and session disconnected")]
    Disconnected(SessionId),
}

impl NotifyError {
    /// True if the message was dropped because the outbox was full.
    pub fn is_dropped(&self) -> bool {
        matches!(self, Self::Dropped(_) | Self::Disconnected(_))
    }

    /// True if the session does not exist (any more).
    pub fn is_gone(&self) -> bool {
        matches!(self, Self::Gone(_))
    }
}
