//! Server-Sent Events streams fed by an outbox, and the choice between
//! JSON and a stream for a POST's answer: JSON when the first thing its
//! request produces is its answer, a stream when notifications (progress,
//! log messages) come first.
//!
//! An SSE stream starts with a priming event (an id, `retry`, empty data)
//! for clients at 2025-11-25 or later, gives every event an id
//! `<stream>-<n>` that is unique in its session and names its stream, and
//! ends after the request's answer, when its stop token is cancelled
//! (session end, shutdown), or when its outbox has no sender left.
//!
//! A message counts as sent once the body hands it to hyper, which asks for
//! the next one only after it has written this one to the connection.
//! Dropping a request's body (the client went away) cancels the request,
//! unless the server closed the stream for the client to poll (SEP-1699,
//! see `parked.rs`): then the rest of it waits, parked, for a GET.

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::stream;
use http::{Response, StatusCode};

use super::body::{Body, event_stream, json};
use super::cancel::CancelOnDrop;
use super::parked::{Parked, ParkedStream};
use super::relay::Slot;
use super::replay::{ReplayLog, StreamKind};
use crate::core::{Envelope, OutboxReceiver};
use crate::sync::{Arc, CancellationToken};

/// The reconnection delay an SSE stream tells its client, in milliseconds.
pub(crate) const SSE_RETRY_MS: u64 = 1_000;

/// Answers a POST with what its request's outbox yields first: the answer
/// alone as JSON, or, when a notification comes first, the SSE stream that
/// `stream` makes of the rest. `None` when `stop` (the session) ended
/// first; the stream, ending at once, when the request ended unanswered.
///
/// # Cancel safety
///
/// Dropped while it waits (the client went away), it drops `rx`, and the
/// request's own `CancelOnDrop` (held by the caller) cancels the request.
///
/// When `detach` (the request's handler closing its stream) fires before
/// anything comes, the answer is the stream `stream` makes with nothing
/// first: it sends its priming event and ends, and the request goes on.
pub(crate) async fn answer_or_stream(
    mut rx: OutboxReceiver,
    stop: &CancellationToken,
    detach: Option<&CancellationToken>,
    stream: impl FnOnce(OutboxReceiver, Option<Envelope>) -> Sse,
) -> Option<Response<Body>> {
    let detached = async {
        match detach {
            Some(detach) => detach.cancelled().await,
            None => std::future::pending().await,
        }
    };
    let first = tokio::select! {
        biased;
        // Cancel-safe: only waits.
        first = rx.recv() => match first {
            Some(first) => first,
            None if stop.is_cancelled() => return None,
            // Cancelled by its client, its session alive: an empty stream,
            // not "no such session" (taken for the session's end).
            None => return Some(stream(rx, None).response()),
        },
        // Cancel-safe: only waits.
        () = stop.cancelled() => return None,
        // Cancel-safe: only waits.
        () = detached => return Some(stream(rx, None).response()),
    };
    if first.is_answer() {
        let frame = first.frame().clone();
        first.delivered();
        return Some(json(StatusCode::OK, frame));
    }
    Some(stream(rx, Some(first)).response())
}

/// An SSE stream being built.
pub(crate) struct Sse {
    rx: Option<OutboxReceiver>,
    /// Events replayed (already framed) before anything else.
    replayed: std::collections::VecDeque<Bytes>,
    /// Where each event is recorded for later replays.
    log: Option<(Arc<ReplayLog>, StreamKind)>,
    /// A message already received, sent first.
    first: Option<Envelope>,
    stop: CancellationToken,
    stream: u64,
    seq: u64,
    priming: bool,
    /// True once the priming event went out.
    primed: bool,
    /// Ends after the first answer (a request's stream).
    ends_with_answer: bool,
    done: bool,
    _cancel: Option<CancelOnDrop>,
    slot: Option<Slot>,
    /// A comment sent after this long without an event, so that proxies
    /// and clients see a long-lived stream alive.
    keepalive: Option<std::time::Duration>,
    /// Sent when the stop token ends the stream (a listen stream's answer).
    farewell: Option<Bytes>,
    /// Whatever must live exactly as long as the stream (a listen stream's
    /// core session and registration).
    _hold: Option<Box<dyn Send>>,
    /// Where the stream parks when the server closes it for polling.
    park: Option<Park>,
    /// True once the stream carried its request's answer.
    answered: bool,
    /// True once the stream ended because its handler closed it.
    detached: bool,
}

/// How a request stream parks (see `parked.rs`).
struct Park {
    table: Arc<Parked>,
    /// The handler's "close my stream" signal (a POST's stream); `None` for
    /// a resumed stream, which parks again whenever it ends unanswered.
    detach: Option<CancellationToken>,
}

impl Sse {
    /// A stream numbered `stream` (in its session) of what `rx` yields,
    /// ended by `stop`.
    pub(crate) fn new(rx: OutboxReceiver, stream: u64, stop: CancellationToken) -> Self {
        Self::with(Some(rx), stream, stop)
    }

    fn with(rx: Option<OutboxReceiver>, stream: u64, stop: CancellationToken) -> Self {
        Self {
            rx,
            replayed: std::collections::VecDeque::new(),
            log: None,
            first: None,
            stop,
            stream,
            seq: 0,
            priming: false,
            primed: false,
            ends_with_answer: false,
            done: false,
            _cancel: None,
            slot: None,
            keepalive: None,
            farewell: None,
            _hold: None,
            park: None,
            answered: false,
            detached: false,
        }
    }

    /// A long-lived stream (`subscriptions/listen`): keep-alive comments
    /// every `keepalive`, `farewell` as the last event when the server ends
    /// it, and `hold` kept until the stream ends.
    pub(crate) fn long_lived(
        mut self,
        keepalive: std::time::Duration,
        farewell: Bytes,
        hold: Box<dyn Send>,
    ) -> Self {
        self.keepalive = Some(keepalive);
        self.farewell = Some(farewell);
        self._hold = Some(hold);
        self
    }

    /// Sends `events` (a replay) before the stream's own.
    pub(crate) fn replaying(mut self, events: Vec<Bytes>) -> Self {
        self.replayed = events.into();
        self
    }

    /// Records every event in `log` for `Last-Event-ID` replays.
    pub(crate) fn logged(mut self, log: Arc<ReplayLog>, kind: StreamKind) -> Self {
        self.log = Some((log, kind));
        self
    }

    /// Sends a priming event first.
    pub(crate) fn priming(mut self, on: bool) -> Self {
        self.priming = on;
        self
    }

    /// A request's stream: starts with `first`, ends after the answer, and
    /// cancels the request if dropped before.
    pub(crate) fn for_request(mut self, first: Option<Envelope>, cancel: CancelOnDrop) -> Self {
        self.first = first;
        self.ends_with_answer = true;
        self._cancel = Some(cancel);
        self
    }

    /// A request stream that its handler may close (`detach`) for the
    /// client to resume: it then parks in `table` instead of cancelling
    /// its request.
    pub(crate) fn parking(mut self, table: Arc<Parked>, detach: CancellationToken) -> Self {
        self.park = Some(Park {
            table,
            detach: Some(detach),
        });
        self
    }

    /// A parked request stream, resumed by a GET: the same stream, its
    /// events numbered on from where it stopped, parked again if it ends
    /// before the answer.
    pub(crate) fn resumed(parked: ParkedStream, table: Arc<Parked>, stop: CancellationToken) -> Self {
        let mut sse = Self::with(Some(parked.rx), parked.stream, stop);
        sse.seq = parked.seq;
        sse.ends_with_answer = true;
        sse._cancel = Some(parked.cancel);
        sse.park = Some(Park { table, detach: None });
        sse
    }

    /// Puts the receiver back into `slot` when the stream ends (the
    /// standalone stream's, for a later GET).
    pub(crate) fn returning_to(mut self, slot: Slot) -> Self {
        self.slot = Some(slot);
        self
    }

    fn event(&mut self, data: &[u8]) -> Bytes {
        self.seq += 1;
        let mut out = BytesMut::with_capacity(data.len() + 32);
        out.put_slice(format!("id: {}-{}\ndata: ", self.stream, self.seq).as_bytes());
        out.put_slice(data);
        out.put_slice(b"\n\n");
        let event = out.freeze();
        if let Some((log, kind)) = &self.log {
            log.record(self.stream, *kind, self.seq, &event);
        }
        event
    }

    async fn next(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        if std::mem::take(&mut self.priming) {
            self.primed = true;
            let prime = format!("id: {}-0\nretry: {SSE_RETRY_MS}\ndata: \n\n", self.stream);
            return Some(Bytes::from(prime));
        }
        if let Some(replayed) = self.replayed.pop_front() {
            return Some(replayed);
        }
        let envelope = match self.first.take() {
            Some(first) => first,
            None => {
                let detach = self.park.as_ref().and_then(|p| p.detach.clone());
                // Only a client that has seen an event id can resume.
                let detach_armed = detach.is_some() && (self.seq > 0 || self.primed);
                let detached = async {
                    match (&detach, detach_armed) {
                        (Some(detach), true) => detach.cancelled().await,
                        _ => std::future::pending().await,
                    }
                };
                let keepalive = self.keepalive;
                let rx = self.rx.as_mut()?;
                let idle = async {
                    match keepalive {
                        Some(every) => tokio::time::sleep(every).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    biased;
                    // Cancel-safe: a queued message stays queued (and is
                    // counted as dropped if the stream is dropped).
                    next = rx.recv() => next?,
                    // Cancel-safe: only waits.
                    () = self.stop.cancelled() => {
                        self.done = true;
                        let farewell = self.farewell.take()?;
                        return Some(self.event(&farewell));
                    }
                    // Cancel-safe: a timer.
                    () = idle => return Some(Bytes::from_static(b": keep-alive\n\n")),
                    // Cancel-safe: only waits. The handler closed the stream
                    // and nothing is queued: end it; `Drop` parks it.
                    () = detached => {
                        self.done = true;
                        self.detached = true;
                        return None;
                    }
                }
            }
        };
        self.answered = self.ends_with_answer && envelope.is_answer();
        self.done = self.answered;
        let event = self.event(envelope.frame());
        envelope.delivered();
        Some(event)
    }

    /// The next event (for the fuzz targets, and for a stream written
    /// only to its log: `follow.rs`).
    pub(crate) async fn next_event(&mut self) -> Option<Bytes> {
        self.next().await
    }

    /// The response: `200`, `text/event-stream`, unbuffered.
    pub(crate) fn response(self) -> Response<Body> {
        event_stream(stream::unfold(self, |mut sse| async move {
            let event = sse.next().await?;
            Some((event, sse))
        }))
    }
}

impl Drop for Sse {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take()
            && let Some(rx) = self.rx.take()
        {
            slot.put_back(rx);
        }
        // A request stream closed by its handler, or a resumed one that
        // ended before the answer, waits for the client to come back.
        if let Some(park) = self.park.take()
            && !self.answered
            && (self.detached || park.detach.is_none())
            && let (Some(rx), Some(cancel)) = (self.rx.take(), self._cancel.take())
        {
            park.table.park(ParkedStream {
                stream: self.stream,
                seq: self.seq,
                rx,
                cancel,
            });
        }
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ServerConfig;
    use crate::core::Core;

    /// A long-lived stream sends a keep-alive comment after each quiet
    /// `keepalive`, its messages as events, and its farewell when stopped.
    #[tokio::test(start_paused = true)]
    async fn a_long_lived_stream_keeps_alive_and_says_farewell() {
        let core = Core::new(&ServerConfig::default());
        let (session, outbox) = core.admit().and_then(|p| core.register(p)).unwrap();
        let stop = session.token().clone();
        let sender = session.outbox().clone();
        let mut sse = Sse::new(outbox, 7, stop.clone()).long_lived(
            Duration::from_secs(15),
            Bytes::from_static(b"{\"bye\":1}"),
            Box::new(session),
        );
        let started = tokio::time::Instant::now();
        assert_eq!(sse.next().await.unwrap(), Bytes::from_static(b": keep-alive\n\n"));
        assert_eq!(started.elapsed(), Duration::from_secs(15));
        sender.try_notify(Bytes::from_static(b"{\"n\":1}")).unwrap();
        assert_eq!(
            sse.next().await.unwrap(),
            Bytes::from_static(b"id: 7-1\ndata: {\"n\":1}\n\n")
        );
        stop.cancel();
        assert_eq!(
            sse.next().await.unwrap(),
            Bytes::from_static(b"id: 7-2\ndata: {\"bye\":1}\n\n")
        );
        assert!(sse.next().await.is_none(), "the stream ends after its farewell");
        drop(sse);
        assert_eq!(core.live(), 0, "the held session ended with the stream");
    }
}
