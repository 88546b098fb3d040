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
use crate::metrics::{Metrics, decr, incr};
use crate::protocol::jsonrpc::{ErrorObject, RequestId, encode_request};
use crate::sync::{Arc, AtomicU64, Mutex, Notify, Ordering, RandomState, oneshot};

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

/// Fails with [`InputError::NotSupported`] when a server-to-client
/// request of `method` with `params` needs a capability `capabilities`
/// (what the client declared) lacks: `elicitation` (and its `url` mode
/// for `mode: "url"`, its `form` mode when the client declared modes
/// without it), `sampling` (and `sampling.tools` for a request with
/// `tools` or `toolChoice`, `sampling.context` for an `includeContext`
/// other than `"none"`), `roots`. The specification forbids sending such a
/// request; the handler hears so at once instead.
///
/// # Errors
///
/// [`InputError::NotSupported`] naming the capability.
pub(crate) fn check_capabilities(
    method: &str,
    params: &Value,
    capabilities: &Value,
) -> Result<(), InputError> {
    let declared = |path: &[&str]| {
        path.iter()
            .try_fold(capabilities, |value, key| value.get(key))
            .is_some_and(|v| !v.is_null())
    };
    let given = |key: &str| params.get(key).is_some_and(|v| !v.is_null());
    let missing = match method {
        "elicitation/create" if !declared(&["elicitation"]) => Some("elicitation"),
        "elicitation/create" => {
            let modes = &capabilities["elicitation"];
            // `elicitation: {}` is form mode only (as before modes existed).
            let only_form = modes.as_object().is_some_and(serde_json::Map::is_empty);
            match params.get("mode").and_then(Value::as_str) {
                Some("url") if !declared(&["elicitation", "url"]) => Some("elicitation.url"),
                None | Some("form") if !only_form && !declared(&["elicitation", "form"]) => {
                    Some("elicitation.form")
                }
                _ => None,
            }
        }
        "sampling/createMessage" if !declared(&["sampling"]) => Some("sampling"),
        "sampling/createMessage"
            if (given("tools") || given("toolChoice")) && !declared(&["sampling", "tools"]) =>
        {
            Some("sampling.tools")
        }
        "sampling/createMessage"
            if params
                .get("includeContext")
                .and_then(Value::as_str)
                .is_some_and(|c| c != "none")
                && !declared(&["sampling", "context"]) =>
        {
            Some("sampling.context")
        }
        "roots/list" if !declared(&["roots"]) => Some("roots"),
        _ => None,
    };
    missing.map_or(Ok(()), |capability| Err(InputError::NotSupported(capability)))
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
        check_capabilities(method, &params, &self.capabilities)?;
        let mut waiter = self.pending.register()?;
        let frame = encode_request(&waiter.id, method, params);
        outbox.send(frame).await.map_err(|_| InputError::Ended)?;
        crate::sync::timeout(self.timeout, waiter.answer())
            .await
            .unwrap_or(Err(InputError::TimedOut(self.timeout.as_millis())))
    }
}

/// The server-to-client requests of one session still waiting.
#[derive(Debug)]
pub(crate) struct Pending {
    next: AtomicU64,
    waiting: Mutex<HashMap<RequestId, oneshot::Sender<Answer>, RandomState>>,
    /// Woken when a request starts waiting.
    changed: Notify,
    /// Where the entries of every session are counted
    /// (`client_requests_pending`): one up per entry, one down when it
    /// leaves, whichever way.
    metrics: Arc<Metrics>,
}

impl Pending {
    /// An empty table counting its entries in `metrics`.
    pub(crate) fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            next: AtomicU64::new(0),
            waiting: Mutex::default(),
            changed: Notify::new(),
            metrics,
        }
    }

    /// True if a call waits for the answer to request `id`.
    pub(crate) fn waits_for(&self, id: &RequestId) -> bool {
        self.waiting.lock().contains_key(id)
    }

    /// Takes the entry `id` out of the table, if it is there.
    fn remove(&self, id: &RequestId) -> Option<oneshot::Sender<Answer>> {
        let entry = self.waiting.lock().remove(id);
        if entry.is_some() {
            decr(&self.metrics.client_requests_pending);
        }
        entry
    }

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
        incr(&self.metrics.client_requests_pending);
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
        let waiter = self.remove(id);
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
        self.table.remove(&self.id);
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_request_needs_the_capability_of_what_it_asks() {
        let check = |method: &str, params: Value, caps: Value| check_capabilities(method, &params, &caps);
        let no = |capability| Err(InputError::NotSupported(capability));
        let form = json!({"message": "?", "requestedSchema": {}});
        let url = json!({"mode": "url", "message": "?", "url": "https://example.com", "elicitationId": "e"});
        // `elicitation: {}` is form mode only.
        assert_eq!(
            check("elicitation/create", form.clone(), json!({"elicitation": {}})),
            Ok(())
        );
        assert_eq!(
            check("elicitation/create", url.clone(), json!({"elicitation": {}})),
            no("elicitation.url")
        );
        let url_only = json!({"elicitation": {"url": {}}});
        assert_eq!(check("elicitation/create", url.clone(), url_only.clone()), Ok(()));
        assert_eq!(
            check("elicitation/create", form.clone(), url_only),
            no("elicitation.form")
        );
        let both = json!({"elicitation": {"form": {}, "url": {}}});
        assert_eq!(check("elicitation/create", form.clone(), both.clone()), Ok(()));
        assert_eq!(check("elicitation/create", url, both), Ok(()));
        assert_eq!(check("elicitation/create", form, json!({})), no("elicitation"));

        let plain = json!({"messages": [], "maxTokens": 1});
        let tools = json!({"messages": [], "maxTokens": 1, "tools": []});
        let context = json!({"messages": [], "maxTokens": 1, "includeContext": "thisServer"});
        assert_eq!(
            check("sampling/createMessage", plain.clone(), json!({"sampling": {}})),
            Ok(())
        );
        assert_eq!(
            check("sampling/createMessage", plain, Value::Null),
            no("sampling")
        );
        assert_eq!(
            check("sampling/createMessage", tools.clone(), json!({"sampling": {}})),
            no("sampling.tools")
        );
        assert_eq!(
            check(
                "sampling/createMessage",
                tools,
                json!({"sampling": {"tools": {}}})
            ),
            Ok(())
        );
        assert_eq!(
            check("sampling/createMessage", context.clone(), json!({"sampling": {}})),
            no("sampling.context")
        );
        assert_eq!(
            check(
                "sampling/createMessage",
                context,
                json!({"sampling": {"context": {}}})
            ),
            Ok(())
        );
        assert_eq!(
            check("roots/list", json!({}), json!({"sampling": {}})),
            no("roots")
        );
        assert_eq!(check("ping", json!({}), Value::Null), Ok(()));
    }

    #[tokio::test]
    async fn answers_reach_their_waiter_and_entries_leave_with_it() {
        let metrics: Arc<Metrics> = Arc::default();
        let gauge = || metrics.snapshot().client_requests_pending;
        let table = Arc::new(Pending::new(Arc::clone(&metrics)));
        let mut a = table.register().unwrap();
        let b = table.register().unwrap();
        assert_ne!(a.id, b.id);
        assert_eq!((table.len(), gauge()), (2, 2));
        assert!(table.complete(&a.id, Ok(Value::from(1))));
        assert!(!table.complete(&a.id, Ok(Value::from(2))), "answered once");
        assert_eq!(a.answer().await, Ok(Value::from(1)));
        drop(a);
        assert_eq!(gauge(), 1, "an answered entry is counted out once");
        drop(b);
        assert_eq!(table.len(), 0, "a dropped waiter leaves the table");
        assert_eq!(gauge(), 0);
        assert!(!table.complete(&RequestId::String("srv-99".into()), Ok(Value::Null)));
    }

    #[tokio::test]
    async fn the_table_is_bounded_and_its_end_fails_every_waiter() {
        let table = Arc::new(Pending::new(Arc::default()));
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
