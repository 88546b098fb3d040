//! One handler call (`tools/call`, `resources/read`, ...) that did not
//! finish on its first poll: its task, its timeout, its answer, and the
//! gauge that counts it while it runs.

use std::time::{Duration, Instant};

use crate::core::{Envelope, OutboxSender, Permit};
use crate::metrics::requests::{Outcome, method_index};
use crate::metrics::{Metrics, decr, incr};
use crate::protocol::jsonrpc::{ErrorObject, REQUEST_TIMED_OUT, RequestId, encode_error};
use crate::protocol::mcp::Generation;
use crate::server::ServerHandle;
use crate::server::api::http_request::HttpRequest;
use crate::server::api::request_token::RequestToken;
use crate::server::engine::answer::Answer;
use crate::server::engine::dispatch::{Call, CallEnv, Label};
use crate::sync::{Arc, CancellationToken, TaskTrackerToken, mutant};

pub(crate) use crate::server::engine::dispatch::CallFuture;

/// Queues an answer on its route, waiting for room unless `stop` is
/// cancelled first (the answer is then counted as dropped when its
/// envelope drops). Room now is taken even once `stop` is cancelled: an
/// answer that finished as its session ended is still written by the
/// session's flush, not dropped beside an outbox with room for it.
pub(crate) async fn send_reply(route: &OutboxSender, stop: &CancellationToken, envelope: Envelope) {
    let send = route.send_envelope(envelope);
    if mutant("answer_dropped_at_session_end") {
        tokio::select! {
            biased;
            () = stop.cancelled() => {}
            _ = send => {}
        }
        return;
    }
    tokio::select! {
        biased;
        _ = send => {}
        () = stop.cancelled() => {}
    }
}

/// The answer to a finished call.
pub(crate) fn answer(
    gauge: &mut InFlight,
    label: &Label,
    id: &RequestId,
    generation: Generation,
    shared: &crate::server::Shared,
    result: std::thread::Result<Result<Answer, ErrorObject>>,
) -> bytes::Bytes {
    match result {
        Ok(Ok(result)) => {
            gauge.end(Outcome::Ok);
            result.encode(id, generation, shared)
        }
        Ok(Err(error)) => {
            gauge.end(Outcome::Error);
            encode_error(Some(id), &error)
        }
        Err(_panic) => {
            gauge.end(Outcome::Panicked);
            tracing::warn!(%label, ?id, "handler panicked");
            encode_error(
                Some(id),
                &ErrorObject::internal(format!("{label}: the handler panicked")),
            )
        }
    }
}

/// One handler call that did not finish on its first poll.
pub(crate) struct CallTask {
    /// Ends the wait for room for the answer (the session's token, or the
    /// request's own when it has no session).
    pub(crate) stop: CancellationToken,
    /// Where the answer goes.
    pub(crate) route: OutboxSender,
    pub(crate) timeout: Duration,
    pub(crate) generation: Generation,
    /// For the server's info in a 2026-07-28 answer's `_meta`.
    pub(crate) shared: Arc<crate::server::Shared>,
}

enum Ending {
    Done(std::thread::Result<Result<Answer, ErrorObject>>),
    Cancelled,
    TimedOut,
}

impl CallTask {
    /// Runs the call to its end (or its cancellation, or its timeout) and
    /// queues its answer; yields the request's id.
    pub(crate) async fn run(
        self,
        id: RequestId,
        label: Label,
        call: CallFuture,
        token: CancellationToken,
        mut gauge: InFlight,
    ) -> Option<RequestId> {
        let outcome = tokio::select! {
            // The handler first: a cooperative handler sees its cancellation
            // and returns before the token branch drops it.
            biased;
            result = call => Ending::Done(result),
            () = token.cancelled() => Ending::Cancelled,
            () = crate::sync::sleep(self.timeout) => Ending::TimedOut,
        };
        let reply = match outcome {
            Ending::Cancelled | Ending::Done(_) if token.is_cancelled() => {
                gauge.end(Outcome::Cancelled);
                None
            }
            Ending::Done(result) => Some(answer(
                &mut gauge,
                &label,
                &id,
                self.generation,
                &self.shared,
                result,
            )),
            Ending::TimedOut => {
                token.cancel();
                gauge.end(Outcome::TimedOut);
                let ms = self.timeout.as_millis();
                Some(encode_error(
                    Some(&id),
                    &ErrorObject::new(REQUEST_TIMED_OUT, format!("request timed out after {ms} ms")),
                ))
            }
            Ending::Cancelled => unreachable!("the token branch fires only once the token is cancelled"),
        };
        if let Some(frame) = reply {
            send_reply(&self.route, &self.stop, self.route.answer(frame)).await;
        }
        Some(id)
    }
}

/// Counts a request in `requests_in_flight` while it runs, then its
/// outcome (by method) and, for a handler method, its latency. A request
/// that is dropped before it ends (its session ended and aborted it)
/// counts as cancelled.
pub(crate) struct InFlight {
    metrics: Arc<Metrics>,
    /// The method's number in the request table.
    method: u8,
    started: Instant,
    ended: bool,
    /// Held by a request that runs in a task of its own, and let go last
    /// (after the gauge): the drain ends only once the request is gone. Its
    /// session's end may abort the task, and an abort is carried out when
    /// the runtime next gets to it, possibly after the session has ended.
    tracked: Option<TaskTrackerToken>,
}

impl InFlight {
    /// Starts counting a request of `method`.
    pub(crate) fn new(metrics: Arc<Metrics>, method: &str) -> Self {
        incr(&metrics.requests_in_flight);
        Self {
            metrics,
            method: method_index(method),
            started: Instant::now(),
            ended: false,
            tracked: None,
        }
    }

    /// Makes the drain wait for this request (see `tracked`).
    pub(crate) fn track(&mut self, token: TaskTrackerToken) {
        self.tracked = Some(token);
    }

    /// Ends the request in `outcome`. A call that was answered (with a
    /// result, an error, a timeout or a panic) has its latency counted.
    pub(crate) fn end(&mut self, outcome: Outcome) {
        let m = &self.metrics;
        match outcome {
            Outcome::Ok | Outcome::Error => {}
            Outcome::Cancelled => incr(&m.requests_cancelled),
            Outcome::TimedOut => incr(&m.requests_timed_out),
            Outcome::Panicked => incr(&m.requests_panicked),
        }
        m.requests.record(self.method, outcome);
        tracing::debug!(outcome = outcome.name(), "request ended");
        if outcome != Outcome::Cancelled {
            let nanos = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            m.requests.observe(self.method, nanos);
        }
        self.ended = true;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.ended {
            self.end(Outcome::Cancelled);
        }
        decr(&self.metrics.requests_in_flight);
        // `tracked` drops after this: the drain cannot end while the
        // request still counts.
    }
}

/// Runs a call that stands alone (a 2026-07-28 request over HTTP, with no
/// session) to its answer on `outbox`, ended by `token`, holding `permit`
/// (the stateless gate's) until it ends: no client link (nothing to carry
/// the client's answer back), and the call's own `_meta` decides its log
/// level. The permit is an argument, not held around this future by the
/// caller, so that what is spawned is this future alone (one copy of the
/// call's state, not two).
pub(crate) async fn run_alone(
    server: ServerHandle,
    permit: Permit,
    id: RequestId,
    mut call: Call,
    outbox: OutboxSender,
    token: CancellationToken,
    http: HttpRequest,
) {
    tracing::debug!("stateless request running");
    let shared = Arc::clone(&server.shared);
    let mut gauge = InFlight::new(Arc::clone(shared.core.metrics_ref()), call.label.method());
    gauge.track(shared.core.drain_token());
    let label = std::mem::take(&mut call.label);
    let task = CallTask {
        stop: token.clone(),
        route: outbox.clone(),
        timeout: shared.config.request_timeout,
        generation: call.generation,
        shared: Arc::clone(&shared),
    };
    let call: CallFuture = call.start(CallEnv {
        id: id.clone(),
        token: RequestToken::Ready(token.clone()),
        outbox,
        detach: None,
        client: None,
        task: None,
        server,
        session_log_level: 0,
        http: Some(http),
    });
    task.run(id, label, call, token, gauge).await;
    drop(permit);
}
