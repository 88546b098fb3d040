//! Requests the server sends to a client (2024-11-05 .. 2025-11-25):
//! `elicitation/create`, `sampling/createMessage`, `roots/list`, sent on the
//! stream of the call that needs them, and the table of those still
//! waiting for the client's response.
//!
//! Invariants:
//! 1. The table of a session holds at most [`MAX_PENDING`] requests; one
//!    more fails at once ([`InputError::TooMany`]), nothing waits for room.
//! 2. An entry lives exactly as long as its `Waiter`: the call that asked
//!    ends, times out or is cancelled, the waiter drops, the entry goes.
//! 3. When the session ends the table is dropped with it, every waiter's
//!    channel closes, and every call still waiting gets
//!    [`InputError::Ended`].
//! 4. A response names its request by an id of the server's own (`srv-<n>`,
//!    never reused in a session); a response to no waiting request is
//!    ignored and counted (`responses_unmatched`).
//! 5. A call waiting here does not count against the session's in-flight
//!    cap (see `SessionState::can_read`): the client's answer may come
//!    behind other requests on its one connection, and a session that
//!    stopped reading at the cap would never see it. So the session reads
//!    on while its calls wait on the client; at most [`MAX_PENDING`] more
//!    calls than the cap can run. Registering wakes the session loop
//!    (`Pending::changed`) to look again.
//!
//! Lock order: the table's lock is taken alone and never across an
//! `.await`.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use crate::core::OutboxSender;
use crate::protocol::jsonrpc::{ErrorObject, RequestId, encode_request};
use crate::sync::{Arc, AtomicU64, Mutex, Notify, Ordering, oneshot};

/// Server-to-client requests waiting at once per session.
pub const MAX_PENDING: usize = 64;

/// Why a request to the client gave no answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The client did not declare the capability the request needs.
    #[error("the client did not declare the {0} capability")]
    NotSupported(&'static str),
    /// The client answered with an error.
    #[error("the client answered with an error: {0}")]
    Rejected(ErrorObject),
    /// No answer within the client request timeout.
    #[error("the client did not answer within {0} ms")]
    TimedOut(u128),
    /// The session ended (or its outbox closed) first.
    #[error("the session ended before the client answered")]
    Ended,
    /// The session already waits for [`MAX_PENDING`] answers.
    #[error("too many requests to the client at once (at most {MAX_PENDING})")]
    TooMany,
    /// This request cannot ask its client anything: a stateless
    /// (2026-07-28) request over a transport that has no way back.
    #[error("this request cannot ask its client for input")]
    Unavailable,
    /// A stateless (2026-07-28) call needs input: it ends with
    /// `input_required`, and the handler runs again with the answers.
    /// Return it (with `?`) from the handler.
    #[error("input required from the client")]
    Required,
}

type Answer = Result<Value, ErrorObject>;

/// The client capability a server-to-client request needs.
pub(crate) fn capability_for(method: &str) -> Option<&'static str> {
    match method {
        "elicitation/create" => Some("elicitation"),
        "sampling/createMessage" => Some("sampling"),
        "roots/list" => Some("roots"),
        _ => None,
    }
}

/// How a 2025 session's handler reaches its client.
#[derive(Debug, Clone)]
pub(crate) struct ClientLink {
    pub(crate) pending: Arc<Pending>,
    /// What the client declared in `initialize`.
    pub(crate) capabilities: Arc<Value>,
    pub(crate) timeout: Duration,
}

impl ClientLink {
    /// Sends `method` with `params` to the client on `outbox` (the calling
    /// request's stream) and waits for its answer.
    ///
    /// # Errors
    ///
    /// [`InputError::NotSupported`] at once for a capability the client did
    /// not declare, [`InputError::TooMany`] when the table is full,
    /// [`InputError::Rejected`] for the client's error,
    /// [`InputError::TimedOut`], [`InputError::Ended`].
    ///
    /// # Cancel safety
    ///
    /// Dropped before the answer, the request leaves the table (a late
    /// answer is then counted as unmatched).
    pub(crate) async fn ask(
        &self,
        outbox: &OutboxSender,
        method: &str,
        params: Value,
    ) -> Result<Value, InputError> {
        if let Some(capability) = capability_for(method)
            && self.capabilities.get(capability).is_none_or(Value::is_null)
        {
            return Err(InputError::NotSupported(capability));
        }
        let mut waiter = self.pending.register()?;
        let frame = encode_request(&waiter.id, method, params);
        outbox.send(frame).await.map_err(|_| InputError::Ended)?;
        tokio::time::timeout(self.timeout, waiter.answer())
            .await
            .unwrap_or(Err(InputError::TimedOut(self.timeout.as_millis())))
    }
}

/// The server-to-client requests of one session still waiting.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    next: AtomicU64,
    waiting: Mutex<HashMap<RequestId, oneshot::Sender<Answer>>>,
    /// Woken when a request starts waiting.
    changed: Notify,
}

impl Pending {
    /// A new entry: the id to send the request under, and its waiter.
    pub(crate) fn register(self: &Arc<Self>) -> Result<Waiter, InputError> {
        let id = RequestId::String(format!("srv-{}", self.next.fetch_add(1, Ordering::Relaxed)));
        let (tx, rx) = oneshot::channel();
        {
            let mut waiting = self.waiting.lock();
            if waiting.len() >= MAX_PENDING {
                return Err(InputError::TooMany);
            }
            waiting.insert(id.clone(), tx);
        }
        self.changed.notify_one();
        Ok(Waiter {
            id,
            rx,
            table: Arc::clone(self),
        })
    }

    /// Delivers the client's answer to request `id`; false if no request
    /// with that id waits.
    pub(crate) fn complete(&self, id: &RequestId, answer: Answer) -> bool {
        let waiter = self.waiting.lock().remove(id);
        waiter.is_some_and(|tx| tx.send(answer).is_ok())
    }

    /// Requests waiting now.
    pub(crate) fn len(&self) -> usize {
        self.waiting.lock().len()
    }

    /// Completes when a request has started waiting since the last call
    /// returned (or now, if one did before anyone waited).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: `Notify` keeps one permit for the next waiter.
    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }
}

/// One request waiting for the client; leaves the table when dropped.
#[derive(Debug)]
pub(crate) struct Waiter {
    pub(crate) id: RequestId,
    rx: oneshot::Receiver<Answer>,
    table: Arc<Pending>,
}

impl Waiter {
    /// The client's answer.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops nothing but the wait; the waiter itself
    /// leaves the table when dropped.
    pub(crate) async fn answer(&mut self) -> Result<Value, InputError> {
        match (&mut self.rx).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(InputError::Rejected(error)),
            Err(_closed) => Err(InputError::Ended),
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.table.waiting.lock().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_reach_their_waiter_and_entries_leave_with_it() {
        let table = Arc::new(Pending::default());
        let mut a = table.register().unwrap();
        let b = table.register().unwrap();
        assert_ne!(a.id, b.id);
        assert_eq!(table.len(), 2);
        assert!(table.complete(&a.id, Ok(Value::from(1))));
        assert!(!table.complete(&a.id, Ok(Value::from(2))), "answered once");
        assert_eq!(a.answer().await, Ok(Value::from(1)));
        drop(b);
        assert_eq!(table.len(), 0, "a dropped waiter leaves the table");
        assert!(!table.complete(&RequestId::String("srv-99".into()), Ok(Value::Null)));
    }

    #[tokio::test]
    async fn the_table_is_bounded_and_its_end_fails_every_waiter() {
        let table = Arc::new(Pending::default());
        let mut held: Vec<Waiter> = (0..MAX_PENDING).map(|_| table.register().unwrap()).collect();
        assert_eq!(table.register().unwrap_err(), InputError::TooMany);
        held.pop();
        let _room = table.register().expect("room again");
        let mut last = held.pop().unwrap();
        let waiting = table.waiting.lock().drain().count();
        assert_eq!(
            waiting, MAX_PENDING,
            "every sender dropped, as when the session ends"
        );
        assert_eq!(last.answer().await, Err(InputError::Ended));
    }
}
