//! The task of one session: a `select!` loop over the session's token, its
//! outbox, its finished requests and its inbound lines.
//!
//! Requests run as tasks of the session's own `JoinSet`, at most
//! `max_in_flight_per_session` at a time; at the cap the loop stops reading,
//! so the client's TCP window fills and it is pushed back instead of memory
//! growing. Every branch of the `select!` is cancel-safe (see each one).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::FutureExt;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::task::{JoinError, JoinSet};

use super::dispatch::{Route, route};
use super::tools::{RequestContext, Tool, ToolError, ToolOutput};
use super::{ServerHandle, Shared};
use crate::core::{Envelope, OutboxReceiver, OutboxSender, Session};
use crate::metrics::{Metrics, decr, incr};
use crate::protocol::jsonrpc::{
    self, ErrorObject, INVALID_REQUEST, Incoming, REQUEST_TIMED_OUT, RequestId, encode_error, encode_result,
};
use crate::protocol::mcp::{Generation, Lifecycle, finish_result};
use crate::sync::{Arc, AtomicU64, CancellationToken};
use crate::transport::framing::{Frame, LineReader};

/// Most messages written with one `write`.
const WRITE_BATCH: usize = 64;
/// Read buffer of a session, in bytes. Small, because every idle session
/// keeps it; a longer line is assembled across reads by the `LineReader`.
/// There is no write buffer to keep: each batch is assembled in a buffer
/// that lives only while it is written.
const READ_BUFFER_BYTES: usize = 2 * 1024;
/// The log level rank a session receives until it sets one (`debug`: all).
const DEFAULT_LOG_LEVEL: u8 = 0;

/// Why a session loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuitReason {
    /// The server is shutting down.
    Shutdown,
    /// The session's token was cancelled (the `Disconnect` full policy).
    Cancelled,
    /// The client closed its side of the connection.
    ClientClosed,
    /// Reading from the client failed.
    ReadFailed,
    /// Writing to the client failed.
    WriteFailed,
}

enum Event {
    Cancelled,
    Outgoing(Envelope),
    Finished(Result<Option<RequestId>, JoinError>),
    Inbound(io::Result<Frame>),
}

/// Runs one session until it ends, then flushes what it can.
pub(crate) async fn run<R, W>(
    shared: Arc<Shared>,
    session: Session,
    outbox: OutboxReceiver,
    reader: R,
    writer: W,
) -> QuitReason
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let max_frame = shared.config.max_frame_bytes;
    let mut state = SessionLoop {
        handle: ServerHandle {
            shared: Arc::clone(&shared),
        },
        shared,
        session,
        lifecycle: Lifecycle::default(),
        log_level: DEFAULT_LOG_LEVEL,
        in_flight: JoinSet::new(),
        requests: HashMap::new(),
    };
    let mut lines = LineReader::new(BufReader::with_capacity(READ_BUFFER_BYTES, reader), max_frame);
    let mut writer = writer;
    let mut outbox = outbox;
    let reason = state.serve(&mut lines, &mut writer, &mut outbox).await;
    state.finish(reason, &mut writer, &mut outbox).await;
    tracing::debug!(session = %state.session.id(), ?reason, "session ended");
    reason
}

struct SessionLoop {
    shared: Arc<Shared>,
    handle: ServerHandle,
    session: Session,
    lifecycle: Lifecycle,
    /// The log level the client asked for (rank), applied once initialized.
    log_level: u8,
    /// Running requests and queued replies; each yields its request id.
    in_flight: JoinSet<Option<RequestId>>,
    /// Tokens of running requests, for `notifications/cancelled`.
    requests: HashMap<RequestId, CancellationToken>,
}

impl SessionLoop {
    async fn serve<R, W>(
        &mut self,
        lines: &mut LineReader<R>,
        writer: &mut W,
        outbox: &mut OutboxReceiver,
    ) -> QuitReason
    where
        R: tokio::io::AsyncBufRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let token = self.session.token().clone();
        let max_in_flight = self.shared.config.max_in_flight_per_session;
        loop {
            let can_read = self.in_flight.len() < max_in_flight;
            let event = tokio::select! {
                biased;
                // Cancel-safe: only waits.
                () = token.cancelled() => Event::Cancelled,
                // Cancel-safe: mpsc::Receiver::recv never loses a message.
                Some(envelope) = outbox.recv() => Event::Outgoing(envelope),
                // Cancel-safe: join_next leaves unfinished tasks in the set.
                Some(done) = self.in_flight.join_next(), if !self.in_flight.is_empty() => Event::Finished(done),
                // Cancel-safe: LineReader keeps partial lines in itself.
                frame = lines.next(), if can_read => Event::Inbound(frame),
            };
            match event {
                Event::Cancelled => {
                    return if self.shared.core.is_shutting_down() {
                        QuitReason::Shutdown
                    } else {
                        QuitReason::Cancelled
                    };
                }
                Event::Outgoing(first) => {
                    let written = tokio::select! {
                        biased;
                        () = token.cancelled() => continue,
                        written = write_batch(writer, first, outbox) => written,
                    };
                    if let Err(e) = written {
                        tracing::debug!(session = %self.session.id(), error = %e, "write failed");
                        return QuitReason::WriteFailed;
                    }
                }
                Event::Finished(Ok(Some(id))) => {
                    self.requests.remove(&id);
                }
                Event::Finished(_) => {}
                Event::Inbound(Ok(Frame::Line(line))) => self.on_line(&line),
                Event::Inbound(Ok(Frame::TooLong { len })) => {
                    let limit = self.shared.config.max_frame_bytes;
                    let error = ErrorObject::new(
                        INVALID_REQUEST,
                        format!("message of {len} bytes exceeds the limit of {limit} bytes"),
                    );
                    self.reply(encode_error(None, &error));
                }
                Event::Inbound(Ok(Frame::Eof)) => return QuitReason::ClientClosed,
                Event::Inbound(Err(e)) => {
                    tracing::debug!(session = %self.session.id(), error = %e, "read failed");
                    return QuitReason::ReadFailed;
                }
            }
        }
    }

    /// Cancels every request, then writes what is queued (bounded by the
    /// shutdown grace) and closes the write side.
    async fn finish<W: AsyncWrite + Unpin>(
        &mut self,
        reason: QuitReason,
        writer: &mut W,
        outbox: &mut OutboxReceiver,
    ) {
        self.session.token().cancel();
        // Every request sees its token cancelled and ends at its next poll
        // (a handler that ignores the token is dropped by its task's
        // `select!`), so this wait is short; the grace bounds it anyway.
        let grace = self.shared.config.shutdown_grace;
        let ended = async { while self.in_flight.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, ended).await.is_err() {
            self.in_flight.abort_all();
        }
        outbox.close();
        if matches!(reason, QuitReason::Shutdown | QuitReason::ClientClosed) {
            let flush = async {
                while let Some(envelope) = outbox.try_recv() {
                    write_batch(writer, envelope, outbox).await?;
                }
                writer.shutdown().await
            };
            let _ = tokio::time::timeout(self.shared.config.shutdown_grace, flush).await;
        }
        // Whatever is still queued is counted as dropped when `outbox` drops.
    }

    fn on_line(&mut self, line: &[u8]) {
        match jsonrpc::parse(line) {
            Err(rejection) => self.reply(encode_error(rejection.id.as_ref(), &rejection.error)),
            Ok(Incoming::Request { id, method, params }) => self.on_request(id, &method, params),
            Ok(Incoming::Notification { method, params }) => self.on_notification(&method, params),
            Ok(Incoming::Response { id }) => {
                tracing::debug!(session = %self.session.id(), ?id, "ignoring a response to no request");
            }
        }
    }

    fn on_request(&mut self, id: RequestId, method: &str, params: Option<Value>) {
        incr(&self.shared.core.metrics_ref().requests_total);
        if self.requests.contains_key(&id) {
            let error = ErrorObject::new(INVALID_REQUEST, "request id already in use by a running request");
            self.reply(encode_error(Some(&id), &error));
            return;
        }
        match route(&self.shared, &mut self.lifecycle, method, params) {
            Route::Reply(Ok(result)) => {
                if method == "initialize"
                    && let Some(version) = self.lifecycle.negotiated()
                {
                    self.session.attrs().set_protocol_version(version);
                }
                self.reply(encode_result(&id, result));
            }
            Route::Reply(Err(error)) => self.reply(encode_error(Some(&id), &error)),
            Route::SetLogLevel(rank, generation) => {
                self.log_level = rank;
                if self.lifecycle.is_initialized() {
                    self.session.attrs().set_notify_gate(rank);
                }
                self.reply(encode_result(
                    &id,
                    finish_result(generation, serde_json::json!({})),
                ));
            }
            Route::Call {
                tool,
                args,
                progress_token,
                generation,
            } => self.spawn_call(id, tool, args, progress_token, generation),
        }
    }

    fn on_notification(&mut self, method: &str, params: Option<Value>) {
        match method {
            "notifications/initialized" => {
                if self.lifecycle.initialized() {
                    self.session.attrs().set_notify_gate(self.log_level);
                }
            }
            "notifications/cancelled" => {
                let id = params
                    .as_ref()
                    .and_then(|p| p.get("requestId"))
                    .and_then(RequestId::from_value);
                if let Some(token) = id.and_then(|id| self.requests.get(&id)) {
                    token.cancel();
                }
            }
            _ => tracing::trace!(session = %self.session.id(), method, "ignoring notification"),
        }
    }

    /// Queues a reply; if the outbox is full, a task waits for room (and
    /// counts against the in-flight cap, so the loop stops reading).
    fn reply(&mut self, frame: bytes::Bytes) {
        match self.session.outbox().try_send(frame) {
            Ok(()) | Err(None) => {}
            Err(Some(envelope)) => {
                let outbox = self.session.outbox().clone();
                let token = self.session.token().clone();
                self.in_flight.spawn(async move {
                    send_reply(&outbox, &token, envelope).await;
                    None
                });
            }
        }
    }

    /// Starts a `tools/call`. The handler is polled once right here: a tool
    /// that finishes without waiting (like `echo`) is answered at once, with
    /// no task, no timer and no entry in `requests`. Otherwise the
    /// half-run call moves into a task of its own, which polls it again at
    /// once (so it registers that task's waker) and adds the timeout.
    fn spawn_call(
        &mut self,
        id: RequestId,
        tool: Tool,
        args: Value,
        progress_token: Option<Value>,
        generation: Generation,
    ) {
        let mut gauge = InFlight::new(Arc::clone(self.shared.core.metrics_ref()));
        let token = self.session.token().child_token();
        let ctx = RequestContext {
            request_id: id.clone(),
            token: token.clone(),
            progress_token,
            outbox: self.session.outbox().clone(),
            server: self.handle.clone(),
        };
        let mut call: CallFuture = Box::pin(AssertUnwindSafe(tool.call(args, ctx)).catch_unwind());
        let first = {
            let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
            // A panic in this poll is caught by `catch_unwind` inside `call`.
            call.as_mut().poll(&mut cx)
        };
        if let Poll::Ready(result) = first {
            let answer = answer(&mut gauge, &tool, &id, generation, result);
            self.reply(answer);
            return;
        }
        self.requests.insert(id.clone(), token.clone());
        let task = CallTask {
            session_token: self.session.token().clone(),
            outbox: self.session.outbox().clone(),
            timeout: self.shared.config.request_timeout,
            generation,
        };
        self.in_flight.spawn(task.run(id, tool, call, token, gauge));
    }
}

/// Writes `first` and whatever else is queued (up to [`WRITE_BATCH`]) with
/// one `write_all`, then flushes. Messages count as sent only once written;
/// if the future fails or is dropped, the unsent ones count as dropped.
async fn write_batch<W: AsyncWrite + Unpin>(
    writer: &mut W,
    first: Envelope,
    outbox: &mut OutboxReceiver,
) -> io::Result<()> {
    let mut batch = Vec::with_capacity(8);
    batch.push(first);
    while batch.len() < WRITE_BATCH {
        match outbox.try_recv() {
            Some(envelope) => batch.push(envelope),
            None => break,
        }
    }
    let mut bytes = Vec::with_capacity(batch.iter().map(|e| e.frame().len() + 1).sum());
    for envelope in &batch {
        bytes.extend_from_slice(envelope.frame());
        bytes.push(b'\n');
    }
    writer.write_all(&bytes).await?;
    writer.flush().await?;
    batch.into_iter().for_each(Envelope::delivered);
    Ok(())
}

/// Waits for outbox room for a reply, unless the session ends first (the
/// reply is then counted as dropped when its envelope drops).
async fn send_reply(outbox: &OutboxSender, session_token: &CancellationToken, envelope: Envelope) {
    let send = outbox.send_envelope(envelope);
    tokio::select! {
        biased;
        () = session_token.cancelled() => {}
        _ = send => {}
    }
}

/// A tool call, with panics caught.
type CallFuture = Pin<Box<dyn Future<Output = std::thread::Result<Result<ToolOutput, ToolError>>> + Send>>;

/// The answer to a finished call.
fn answer(
    gauge: &mut InFlight,
    tool: &Tool,
    id: &RequestId,
    generation: Generation,
    result: std::thread::Result<Result<ToolOutput, ToolError>>,
) -> bytes::Bytes {
    match result {
        Ok(Ok(output)) => {
            gauge.end_ok();
            encode_result(id, finish_result(generation, output.into_result()))
        }
        Ok(Err(error)) => {
            gauge.end_ok();
            match error.into_answer() {
                Ok(output) => encode_result(id, finish_result(generation, output.into_result())),
                Err(error) => encode_error(Some(id), &error),
            }
        }
        Err(_panic) => {
            gauge.end(|m| &m.requests_panicked);
            tracing::warn!(tool = tool.name(), ?id, "tool handler panicked");
            encode_error(
                Some(id),
                &ErrorObject::internal(format!("tool {} panicked", tool.name())),
            )
        }
    }
}

/// One `tools/call` that did not finish on its first poll.
struct CallTask {
    session_token: CancellationToken,
    outbox: OutboxSender,
    timeout: Duration,
    generation: Generation,
}

enum Outcome {
    Done(std::thread::Result<Result<ToolOutput, ToolError>>),
    Cancelled,
    TimedOut,
}

impl CallTask {
    async fn run(
        self,
        id: RequestId,
        tool: Tool,
        call: CallFuture,
        token: CancellationToken,
        mut gauge: InFlight,
    ) -> Option<RequestId> {
        let outcome = tokio::select! {
            // The handler first: a cooperative handler sees its cancellation
            // and returns before the token branch drops it.
            biased;
            result = call => Outcome::Done(result),
            () = token.cancelled() => Outcome::Cancelled,
            () = tokio::time::sleep(self.timeout) => Outcome::TimedOut,
        };
        let reply = match outcome {
            Outcome::Cancelled | Outcome::Done(_) if token.is_cancelled() => {
                gauge.end(|m| &m.requests_cancelled);
                None
            }
            Outcome::Done(result) => Some(answer(&mut gauge, &tool, &id, self.generation, result)),
            Outcome::TimedOut => {
                token.cancel();
                gauge.end(|m| &m.requests_timed_out);
                let ms = self.timeout.as_millis();
                Some(encode_error(
                    Some(&id),
                    &ErrorObject::new(REQUEST_TIMED_OUT, format!("request timed out after {ms} ms")),
                ))
            }
            Outcome::Cancelled => unreachable!("the token branch fires only once the token is cancelled"),
        };
        if let Some(frame) = reply {
            send_reply(&self.outbox, &self.session_token, self.outbox.envelope(frame)).await;
        }
        Some(id)
    }
}

/// Counts a request in `requests_in_flight` while it runs. A request that is
/// dropped before it ends (its session ended and aborted it) counts as
/// cancelled.
struct InFlight {
    metrics: Arc<Metrics>,
    ended: bool,
}

impl InFlight {
    fn new(metrics: Arc<Metrics>) -> Self {
        incr(&metrics.requests_in_flight);
        Self {
            metrics,
            ended: false,
        }
    }

    /// Ends the request normally.
    fn end_ok(&mut self) {
        self.ended = true;
    }

    /// Ends the request and counts it in the counter `counter` picks.
    fn end(&mut self, counter: impl FnOnce(&Metrics) -> &AtomicU64) {
        incr(counter(&self.metrics));
        self.ended = true;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        decr(&self.metrics.requests_in_flight);
        if !self.ended {
            incr(&self.metrics.requests_cancelled);
        }
    }
}
