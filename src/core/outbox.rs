//! The per-session outbox: a bounded queue of encoded messages.
//!
//! # Invariants
//!
//! 1. The queue never holds more than its capacity (it is a bounded `mpsc`).
//! 2. Every message handed to an outbox is either written to the client
//!    ([`Envelope::delivered`], counted in `messages_sent`) or counted in
//!    `messages_dropped`. The count is made by [`Envelope`]'s `Drop`, so it
//!    covers every path that loses a message: a full queue, a message still
//!    queued when the session ends, a writer that fails mid-write.
//! 3. Notifications never wait ([`OutboxSender::try_notify`] applies the
//!    configured [`FullPolicy`]); responses wait for room
//!    ([`OutboxSender::send`]).
//! 4. An answer whose outbox has closed (its session ended, or the client
//!    dropped its request's stream) is counted as dropped: an answer is
//!    never lost silently. A notification to a closed outbox is reported
//!    to its sender as [`NotifyError::Gone`] and not counted.
//!
//! Known-bad variants (model builds only, see `ci/mutants.sh`):
//! `envelope_drop_uncounted` loses dropped messages silently;
//! `closed_outbox_reports_ok` tells a notifier its message was queued when
//! the session had already gone; `answer_to_closed_uncounted` breaks
//! invariant 4. The outbox models catch all three.

use bytes::Bytes;

use crate::config::FullPolicy;
use crate::core::SessionId;
use crate::error::NotifyError;
use crate::metrics::{Metrics, incr};
use crate::sync::{Arc, CancellationToken, mpsc, mutant};

/// One encoded message on its way to a client.
///
/// Dropping it without calling [`Envelope::delivered`] counts it as dropped.
#[derive(Debug)]
pub struct Envelope {
    frame: Bytes,
    metrics: Option<Arc<Metrics>>,
    /// The answer to a request: nothing more follows it on that request's
    /// own stream (an HTTP POST's response ends after it).
    answer: bool,
}

impl Envelope {
    fn new(frame: Bytes, metrics: &Arc<Metrics>, answer: bool) -> Self {
        Self {
            frame,
            metrics: Some(Arc::clone(metrics)),
            answer,
        }
    }

    /// The encoded message (one JSON-RPC line, without the newline).
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }

    /// True for the answer to a request (a response or an error), false for
    /// a notification.
    pub fn is_answer(&self) -> bool {
        self.answer
    }

    /// Marks the message as written to the client and counts it as sent.
    pub fn delivered(mut self) {
        if let Some(metrics) = self.metrics.take() {
            incr(&metrics.messages_sent);
        }
    }

    /// Takes the message back without counting it either way (it was never
    /// accepted by an outbox).
    fn disarm(mut self) -> Bytes {
        self.metrics = None;
        std::mem::take(&mut self.frame)
    }
}

impl Drop for Envelope {
    fn drop(&mut self) {
        if mutant("envelope_drop_uncounted") {
            return;
        }
        if let Some(metrics) = self.metrics.take() {
            incr(&metrics.messages_dropped);
        }
    }
}

/// What becomes of a message that met a closed outbox: an answer counts as
/// dropped, a notification is not counted (its sender is told).
fn closed(envelope: Envelope) {
    if envelope.is_answer() && !mutant("answer_to_closed_uncounted") {
        drop(envelope);
    } else {
        envelope.disarm();
    }
}

/// Creates the outbox of a session.
pub(crate) fn outbox(
    session: SessionId,
    capacity: usize,
    policy: FullPolicy,
    token: CancellationToken,
    metrics: Arc<Metrics>,
) -> (OutboxSender, OutboxReceiver) {
    let (tx, rx) = mpsc::channel(capacity);
    (
        OutboxSender {
            session,
            tx,
            policy,
            token,
            metrics,
        },
        OutboxReceiver { rx },
    )
}

/// The sending side of a session's outbox. Cheap to clone.
#[derive(Debug, Clone)]
pub struct OutboxSender {
    session: SessionId,
    tx: mpsc::Sender<Envelope>,
    policy: FullPolicy,
    /// The session's token: cancelled by the `Disconnect` policy.
    token: CancellationToken,
    metrics: Arc<Metrics>,
}

impl OutboxSender {
    /// Queues a notification without waiting.
    ///
    /// # Errors
    ///
    /// - [`NotifyError::Dropped`] or [`NotifyError::Disconnected`] when the
    ///   queue is full (the message is counted as dropped; with
    ///   [`FullPolicy::Disconnect`] the session is also cancelled).
    /// - [`NotifyError::Gone`] when the session has ended; nothing is counted.
    pub fn try_notify(&self, frame: Bytes) -> Result<(), NotifyError> {
        match self.tx.try_send(Envelope::new(frame, &self.metrics, false)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(envelope)) => {
                drop(envelope); // counted as dropped
                match self.policy {
                    FullPolicy::Drop => Err(NotifyError::Dropped(self.session)),
                    FullPolicy::Disconnect => {
                        self.token.cancel();
                        Err(NotifyError::Disconnected(self.session))
                    }
                }
            }
            Err(mpsc::error::TrySendError::Closed(envelope)) => {
                envelope.disarm();
                if mutant("closed_outbox_reports_ok") {
                    return Ok(());
                }
                Err(NotifyError::Gone(self.session))
            }
        }
    }

    /// Wraps the answer to a request for this outbox: from here on it is
    /// either delivered or counted as dropped.
    pub fn answer(&self, frame: Bytes) -> Envelope {
        Envelope::new(frame, &self.metrics, true)
    }

    /// Queues the answer to a request if there is room, without applying the
    /// full policy.
    ///
    /// # Errors
    ///
    /// `Err(Some(envelope))` with the message back, still counted, when the
    /// queue is full (hand it to [`OutboxSender::send_envelope`]);
    /// `Err(None)` when the outbox has closed (the answer is counted as
    /// dropped, invariant 4).
    pub fn try_send(&self, frame: Bytes) -> Result<(), Option<Envelope>> {
        match self.tx.try_send(self.answer(frame)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(envelope)) => Err(Some(envelope)),
            Err(mpsc::error::TrySendError::Closed(envelope)) => {
                closed(envelope);
                Err(None)
            }
        }
    }

    /// Queues a message, waiting for room.
    ///
    /// # Errors
    ///
    /// [`NotifyError::Gone`] when the session has ended.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped before it completes, the message
    /// was not queued and is counted as dropped.
    pub async fn send(&self, frame: Bytes) -> Result<(), NotifyError> {
        self.send_envelope(Envelope::new(frame, &self.metrics, false))
            .await
    }

    /// Queues an envelope, waiting for room.
    ///
    /// # Errors
    ///
    /// [`NotifyError::Gone`] when the outbox has closed (an answer is then
    /// counted as dropped; a notification is not counted: it never reached
    /// a queue).
    ///
    /// # Cancel safety
    ///
    /// As [`OutboxSender::send`]: dropped before completion, the message
    /// counts as dropped.
    pub async fn send_envelope(&self, envelope: Envelope) -> Result<(), NotifyError> {
        match self.tx.send(envelope).await {
            Ok(()) => Ok(()),
            Err(mpsc::error::SendError(envelope)) => {
                closed(envelope);
                Err(NotifyError::Gone(self.session))
            }
        }
    }

    /// Messages queued now.
    pub fn depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// The session this outbox belongs to.
    pub fn session(&self) -> SessionId {
        self.session
    }
}

/// The receiving side of a session's outbox, owned by the session's writer.
#[derive(Debug)]
pub struct OutboxReceiver {
    rx: mpsc::Receiver<Envelope>,
}

impl OutboxReceiver {
    /// Waits for the next message; `None` once every sender is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a message is never lost by dropping this future.
    pub async fn recv(&mut self) -> Option<Envelope> {
        self.rx.recv().await
    }

    /// The next message if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Envelope> {
        self.rx.try_recv().ok()
    }

    /// Stops accepting messages; those already queued can still be received.
    pub fn close(&mut self) {
        self.rx.close();
    }
}
