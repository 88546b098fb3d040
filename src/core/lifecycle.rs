//! The lifecycle of sessions: admit, register, deregister, release; and
//! shutdown with its drain.
//!
//! # Invariants
//!
//! 1. At most `max_sessions` sessions are registered at any instant: a
//!    session is registered only with a [`Permit`], and the permit is
//!    released only after the session has been removed from the registry.
//! 2. Once [`Core::shutdown`] has been called, [`Core::register`] refuses new
//!    sessions, and every registered session's token is cancelled.
//! 3. [`Core::drained`] returns only after shutdown has begun and every
//!    permit ever handed out has been released (so every session has been
//!    deregistered). Each permit carries a drain token taken *before* the
//!    shutdown check in `admit`, so a connection that slips in just before
//!    shutdown is always waited for, and one that comes after is always
//!    refused. (loom found the first version of this, which took the token
//!    in `register`: a permit held between `admit` and `register` was
//!    invisible to the drain.)
//! 4. `notify` and `broadcast` (in `delivery.rs`) clone what they need
//!    under the registry lock and send after dropping it; a send to a
//!    session that is ending either lands in its outbox (and is then
//!    delivered or counted as dropped) or reports the session gone.
//!
//! 5. Session ids are unique for the life of the core: each is one
//!    `fetch_add` on a counter, however many threads register at once.
//!
//! Lock order: the registry lock is the only lock, and nothing is awaited or
//! sent while it is held.
//!
//! Known-bad variants (model builds only, switched on by `ci/mutants.sh`):
//! `drain_token_after_check` breaks invariant 3 (the drain token is taken
//! after the shutdown check and the registry insert, so a drain can finish
//! with a session still registered); `release_before_deregister` breaks
//! invariant 1 (the permit goes back while the session is still registered);
//! `register_ignores_shutdown` breaks invariant 2 (a permit taken before
//! shutdown still registers after it); `session_id_racy` breaks invariant 5
//! (the id counter is read, then written, in two steps).

use super::admission::Admission;
use super::outbox::outbox;
use super::registry::{Registry, SessionEntry};
use super::{OutboxReceiver, OutboxSender, Permit, SessionAttrs, SessionId};
use crate::config::{FullPolicy, ServerConfig};
use crate::error::AdmitError;
use crate::metrics::{Metrics, MetricsSnapshot, decr, incr};
use crate::sync::{Arc, AtomicU64, CancellationToken, Ordering, TaskTracker, TaskTrackerToken, mutant};

/// The shared state of a server: cheap to clone, every clone is the same core.
#[derive(Debug, Clone)]
pub struct Core {
    pub(super) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(super) struct Inner {
    admission: Admission,
    /// The gate of stateless requests (`max_concurrent_requests`).
    requests: Admission,
    pub(super) registry: Registry,
    /// The root of every session's and request's token.
    root: CancellationToken,
    /// Counts live sessions for the drain.
    drain: TaskTracker,
    metrics: Arc<Metrics>,
    next_id: AtomicU64,
    outbox_capacity: usize,
    full_policy: FullPolicy,
}

impl Core {
    /// A core sized by `config`.
    pub fn new(config: &ServerConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                admission: Admission::new(config.max_sessions),
                requests: Admission::new(config.http.max_concurrent_requests),
                registry: Registry::default(),
                root: CancellationToken::new(),
                drain: TaskTracker::new(),
                metrics: Arc::new(Metrics::default()),
                next_id: AtomicU64::new(1),
                outbox_capacity: config.outbox_capacity,
                full_policy: config.full_policy,
            }),
        }
    }

    /// Takes an admission permit, or counts a rejection.
    ///
    /// # Errors
    ///
    /// [`AdmitError::AtCapacity`] when `max_sessions` sessions hold permits,
    /// [`AdmitError::ShuttingDown`] after [`Core::shutdown`].
    pub fn admit(&self) -> Result<Permit, AdmitError> {
        // Taken before the shutdown check (invariant 3).
        let tracked = (!mutant("drain_token_after_check")).then(|| self.inner.drain.token());
        self.pass(
            &self.inner.admission,
            tracked,
            &self.inner.metrics.sessions_rejected,
        )
    }

    /// Passes `gate` with the drain token `tracked`, or counts a rejection
    /// in `rejected`.
    fn pass(
        &self,
        gate: &Admission,
        tracked: Option<TaskTrackerToken>,
        rejected: &AtomicU64,
    ) -> Result<Permit, AdmitError> {
        let result = if self.is_shutting_down() {
            Err(AdmitError::ShuttingDown)
        } else {
            gate.try_admit()
        };
        match result {
            Ok(mut permit) => {
                permit.tracked = tracked;
                Ok(permit)
            }
            Err(error) => {
                incr(rejected);
                Err(error)
            }
        }
    }

    /// Takes a permit of the stateless-request gate, or counts a rejection.
    /// Like a session's, the permit carries a drain token taken before the
    /// shutdown check, so the drain waits for every request that got one.
    ///
    /// # Errors
    ///
    /// [`AdmitError::AtCapacity`] when `max_concurrent_requests` requests
    /// hold permits, [`AdmitError::ShuttingDown`] after [`Core::shutdown`].
    pub fn admit_request(&self) -> Result<Permit, AdmitError> {
        let tracked = Some(self.inner.drain.token());
        self.pass(
            &self.inner.requests,
            tracked,
            &self.inner.metrics.requests_rejected,
        )
    }

    /// Registers a session that holds `permit`: gives it an id, a child of
    /// the root token and an outbox.
    ///
    /// # Errors
    ///
    /// [`AdmitError::ShuttingDown`] after [`Core::shutdown`]; the permit is
    /// released.
    pub fn register(&self, mut permit: Permit) -> Result<(Session, OutboxReceiver), AdmitError> {
        let inner = &self.inner;
        let token = inner.root.child_token();
        if token.is_cancelled() && !mutant("register_ignores_shutdown") {
            incr(&inner.metrics.sessions_rejected);
            return Err(AdmitError::ShuttingDown);
        }
        let id = if mutant("session_id_racy") {
            // Known-bad: read, then write back one more, in two steps.
            let next = inner.next_id.load(Ordering::Relaxed);
            inner.next_id.store(next + 1, Ordering::Relaxed);
            SessionId(next)
        } else {
            SessionId(inner.next_id.fetch_add(1, Ordering::Relaxed))
        };
        let (tx, rx) = outbox(
            id,
            inner.outbox_capacity,
            inner.full_policy,
            token.clone(),
            Arc::clone(&inner.metrics),
        );
        let attrs = Arc::new(SessionAttrs::default());
        inner.registry.insert(
            id,
            SessionEntry {
                outbox: tx.clone(),
                token: token.clone(),
                attrs: Arc::clone(&attrs),
            },
        );
        incr(&inner.metrics.sessions_admitted);
        incr(&inner.metrics.sessions_active);
        if permit.tracked.is_none() {
            // Only the `drain_token_after_check` variant gets here: too late.
            permit.tracked = Some(inner.drain.token());
        }
        let session = Session {
            id,
            token,
            outbox: tx,
            attrs,
            core: self.clone(),
            permit: Some(permit),
        };
        Ok((session, rx))
    }

    /// A bounded outbox for one request's own stream (an HTTP POST's
    /// response) in session `session`: counted like a session's outbox, and
    /// a full one drops notifications (it never disconnects anybody).
    pub fn request_outbox(
        &self,
        session: SessionId,
        token: CancellationToken,
    ) -> (OutboxSender, OutboxReceiver) {
        let inner = &self.inner;
        outbox(
            session,
            inner.outbox_capacity,
            FullPolicy::Drop,
            token,
            Arc::clone(&inner.metrics),
        )
    }

    /// A fresh id from the sessions' counter, for something that is not a
    /// session but needs an id of the same kind (a stateless request).
    pub fn next_id(&self) -> SessionId {
        SessionId(self.inner.next_id.fetch_add(1, Ordering::Relaxed))
    }

    /// Sessions registered now.
    pub fn live(&self) -> usize {
        self.inner.registry.len()
    }

    /// Admission permits not held by a session.
    pub fn available_permits(&self) -> usize {
        self.inner.admission.available()
    }

    /// The configured `max_sessions`.
    pub fn max_sessions(&self) -> usize {
        self.inner.admission.limit()
    }

    /// Permits of the stateless-request gate not held by a request.
    pub fn available_request_permits(&self) -> usize {
        self.inner.requests.available()
    }

    /// The configured `max_concurrent_requests`.
    pub fn max_concurrent_requests(&self) -> usize {
        self.inner.requests.limit()
    }

    /// The counters.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot()
    }

    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn metrics_ref(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// The root token: cancelled when shutdown begins.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.root.clone()
    }

    /// Begins shutdown: cancels every session and refuses new ones.
    /// Idempotent.
    pub fn shutdown(&self) {
        self.inner.root.cancel();
        self.inner.drain.close();
    }

    /// True once [`Core::shutdown`] has been called.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.root.is_cancelled()
    }

    /// A token the drain waits for, held by work a session starts beyond
    /// its own task (its calls, its tasks' work): once the drain ends, none
    /// of it is left. An aborted task lets go of its token when the runtime
    /// drops it, which happens at once; so the drain waits no longer.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn drain_token(&self) -> TaskTrackerToken {
        self.inner.drain.token()
    }

    /// Waits until shutdown has begun and every session, and every piece of
    /// work holding a [`Core::drain_token`], has ended.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe; it only waits.
    pub async fn drained(&self) {
        self.inner.root.cancelled().await;
        self.inner.drain.wait().await;
    }
}

/// A registered session. Dropping it cancels its token, deregisters the
/// session, then releases its permit, then lets the drain count it as ended
/// (in that order).
#[derive(Debug)]
pub struct Session {
    id: SessionId,
    token: CancellationToken,
    outbox: OutboxSender,
    attrs: Arc<SessionAttrs>,
    core: Core,
    /// Dropped after deregistration; it releases the slot, then the drain token.
    permit: Option<Permit>,
}

impl Session {
    /// The session's id.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// The session's token: cancelled by shutdown, by the `Disconnect`
    /// policy, or by [`Session::token`]`.cancel()` from the session itself.
    pub fn token(&self) -> &CancellationToken {
        &self.token
    }

    /// The sending side of the session's own outbox.
    pub fn outbox(&self) -> &OutboxSender {
        &self.outbox
    }

    /// The session's protocol-level attributes.
    pub fn attrs(&self) -> &Arc<SessionAttrs> {
        &self.attrs
    }

    /// The core the session belongs to.
    pub fn core(&self) -> &Core {
        &self.core
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Everything the session started (its requests) stops with it.
        self.token.cancel();
        if mutant("release_before_deregister") {
            drop(self.permit.take());
        }
        let metrics = &self.core.inner.metrics;
        if self.core.inner.registry.remove(self.id) {
            decr(&metrics.sessions_active);
        }
        // Release only after deregistering (invariant 1); the permit's drain
        // token goes last, so the drain sees the session end last.
        drop(self.permit.take());
    }
}
