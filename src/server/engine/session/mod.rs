//! The protocol state of one session, whatever carries its messages: the
//! lifecycle, the log level, the running requests. A transport drives it
//! (`transport::line` for stdio and TCP, `transport::http` for Streamable
//! HTTP): it hands over each inbound message with the [`Route`] its answers
//! take, and writes what reaches the session's outbox.
//!
//! Requests run as tasks of the session's own `JoinSet`, at most
//! `max_in_flight_per_session` at a time; the transport stops handing over
//! messages while [`SessionState::can_read`] is false, so the client is
//! pushed back instead of memory growing.
//!
//! Answers are routed by the request they belong to, never looked up by
//! bare JSON-RPC id. A request whose id equals that of a request still
//! running in the same session is refused with -32600 (the ids of one
//! session's running requests are what `notifications/cancelled` names, so
//! they must be unambiguous).

mod call;
mod held;
mod inbound;
mod record;

use std::collections::{HashMap, HashSet};
use std::task::{Context, Poll};

use serde_json::Value;
use tokio::task::{JoinError, JoinSet};
use tracing::Instrument;

use crate::core::{Envelope, OutboxSender, Session};
use crate::metrics::incr;
use crate::protocol::jsonrpc::{
    self, ErrorObject, INVALID_REQUEST, Incoming, Rejection, RequestId, encode_error,
};
use crate::protocol::mcp::Lifecycle;
use crate::server::api::http_request::HttpRequest;
use crate::server::api::request_token::RequestToken;
use crate::server::engine::dispatch::{Call, CallEnv};
use crate::server::ext::client_requests::{ClientLink, Pending};
use crate::server::ext::listen::ListenGuard;
use crate::server::{ServerHandle, Shared};
use crate::sync::{Arc, CancellationToken, RandomState, mutant};
pub(crate) use call::{CallFuture, CallTask, InFlight, answer, run_alone, send_reply};
use held::Held;

/// The log level rank a session receives until it sets one (`debug`: all).
const DEFAULT_LOG_LEVEL: u8 = 0;

/// Where the answer to one inbound message, and the notifications of the
/// request it starts, go.
#[derive(Debug, Clone)]
pub(crate) enum Route {
    /// The session's own outbox (stdio and TCP: the one connection).
    Session,
    /// One request's own stream (an HTTP POST's response), with the token
    /// that its transport cancels when the client drops the stream; a child
    /// of the session's token. `detach`, when the transport can resume the
    /// stream later (a 2025 HTTP session), is what the handler cancels to
    /// close the stream while it goes on (`RequestContext::close_stream`).
    Stream {
        outbox: OutboxSender,
        token: CancellationToken,
        detach: Option<CancellationToken>,
        /// The HTTP request that carried the message.
        request: HttpRequest,
    },
}

/// A finished request task: the id it ran under, if it was a call.
pub(crate) type Finished = Result<Option<RequestId>, JoinError>;

/// The protocol state of one session.
pub(crate) struct SessionState {
    shared: Arc<Shared>,
    handle: ServerHandle,
    session: Session,
    lifecycle: Lifecycle,
    /// The log level the client asked for (rank), applied once initialized.
    log_level: u8,
    /// Running requests and queued replies; each yields its request id.
    in_flight: JoinSet<Option<RequestId>>,
    /// Tokens of running requests, for `notifications/cancelled`.
    requests: HashMap<RequestId, CancellationToken, RandomState>,
    /// Listen streams multiplexed on this session (2026-07-28 over stdio or
    /// TCP), by the id of their `subscriptions/listen`; each ends with
    /// `notifications/cancelled` or with the session.
    listens: HashMap<RequestId, ListenGuard, RandomState>,
    /// The URIs this session subscribed to (2025 `resources/subscribe`),
    /// removed from the server's table when the session ends.
    resource_subs: HashSet<String, RandomState>,
    /// The total length of `resource_subs`, in bytes.
    resource_sub_bytes: usize,
    /// Requests this session's handlers sent the client, waiting for its
    /// answers (2025). Dropped with the session: every waiter then fails.
    pending: Arc<Pending>,
    /// What the client declared in `initialize`, shared by its calls.
    client_capabilities: Arc<Value>,
    /// The client has sent `initialize`, or a 2026-07-28 request (which
    /// needs none): the TCP handshake timeout no longer applies.
    engaged: bool,
    /// The transport writes answers on the session's own route itself
    /// (see [`Self::take_held`]).
    write_through: bool,
    /// Those answers, held for the transport instead of queued.
    held: Held,
    /// The session's token, shared by its requests' tokens (each made from
    /// it when first needed).
    session_token: Arc<CancellationToken>,
    /// Where its record goes, when a session store keeps it.
    stored: Option<Box<record::Stored>>,
}

impl Drop for SessionState {
    fn drop(&mut self) {
        let id = self.session.id();
        if mutant("subscriptions_outlive_session") {
            return;
        }
        for uri in self.resource_subs.drain() {
            self.shared.resource_subs.unsubscribe(&uri, id);
        }
    }
}

impl SessionState {
    pub(crate) fn new(shared: Arc<Shared>, session: Session) -> Self {
        let session_token = Arc::new(session.token().clone());
        let pending = Arc::new(Pending::new(Arc::clone(shared.core.metrics_ref())));
        Self {
            handle: ServerHandle {
                shared: Arc::clone(&shared),
            },
            shared,
            session,
            lifecycle: Lifecycle::default(),
            log_level: DEFAULT_LOG_LEVEL,
            in_flight: JoinSet::new(),
            requests: HashMap::default(),
            listens: HashMap::default(),
            resource_subs: HashSet::default(),
            resource_sub_bytes: 0,
            pending,
            client_capabilities: Arc::new(Value::Null),
            engaged: false,
            write_through: false,
            held: Held::default(),
            session_token,
            stored: None,
        }
    }

    /// One inbound message whose answers on the session's own route the
    /// transport writes itself: they are held (see `held`) instead of
    /// queued, while nothing is queued ahead of them.
    pub(crate) fn on_message_written_through(&mut self, line: &[u8]) {
        self.write_through = true;
        self.on_message(line, &Route::Session);
        self.write_through = false;
    }

    /// True while answers are held.
    pub(crate) fn has_held(&self) -> bool {
        !self.held.is_empty()
    }

    /// The answers held, the first apart; the transport writes them before
    /// anything it takes from the outbox.
    pub(crate) fn take_held(&mut self) -> Option<(Envelope, Vec<Envelope>)> {
        self.held.take()
    }

    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The table of requests sent to the client: for a transport that
    /// delivers the client's answers itself, or that waits on
    /// [`Pending::changed`] to read again.
    pub(crate) fn pending(&self) -> Arc<Pending> {
        Arc::clone(&self.pending)
    }

    /// True while the session may take another message: below its
    /// in-flight cap, not counting calls that wait for the client's answer
    /// (which may come behind other messages; see `client_requests`).
    pub(crate) fn can_read(&self) -> bool {
        let waiting = self.pending.len() * usize::from(!mutant("client_waits_count_against_cap"));
        let room = self.shared.config.max_in_flight_per_session + waiting;
        if mutant("in_flight_cap_off_by_one") {
            return self.in_flight.len() <= room;
        }
        self.in_flight.len() < room
    }

    /// True while a request or a queued reply is running.
    pub(crate) fn is_busy(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// Waits for a request task to end; pending forever while none runs.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: `join_next` leaves unfinished tasks in the set.
    pub(crate) async fn next_finished(&mut self) -> Finished {
        if self.in_flight.is_empty() {
            return std::future::pending().await;
        }
        self.in_flight.join_next().await.expect("the set is not empty")
    }

    /// Requests running now (for the fuzz targets).
    #[cfg(fuzzing)]
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Listen streams open now (for the fuzz targets).
    #[cfg(fuzzing)]
    pub(crate) fn listening(&self) -> usize {
        self.listens.len()
    }

    /// True once the client has sent `initialize` (answered) or a
    /// 2026-07-28 request: a handshake timeout no longer applies.
    pub(crate) fn engaged(&self) -> bool {
        self.engaged
    }

    /// Forgets a finished request.
    pub(crate) fn on_finished(&mut self, done: Finished) {
        if let Ok(Some(id)) = done {
            self.requests.remove(&id);
        }
    }

    /// Cancels every request, then waits for them (bounded by the shutdown
    /// grace; stragglers are aborted, and waited for until they are gone).
    pub(crate) async fn end_requests(&mut self) {
        self.session.token().cancel();
        // Every request sees its token cancelled and ends at its next poll
        // (a handler that ignores the token is dropped by its task's
        // `select!`), so this wait is short; the grace bounds it anyway.
        let grace = self.shared.config.shutdown_grace;
        let ended = async { while self.in_flight.join_next().await.is_some() {} };
        if crate::sync::timeout(grace, ended).await.is_err() {
            // An abort takes effect when the runtime next polls the task
            // (no handler code runs then, only drops): wait for that, so
            // that the session ends with nothing of its own in flight.
            self.in_flight.abort_all();
            while self.in_flight.join_next().await.is_some() {}
        }
    }

    /// A message over the size limit, skipped: answered with -32600.
    pub(crate) fn on_too_long(&mut self, len: usize, route: &Route) {
        let limit = self.shared.config.max_frame_bytes;
        incr(&self.shared.core.metrics_ref().messages_invalid);
        let error = ErrorObject::new(
            INVALID_REQUEST,
            format!("message of {len} bytes exceeds the limit of {limit} bytes"),
        );
        self.reply(encode_error(None, &error), route);
    }

    /// One inbound JSON-RPC message.
    pub(crate) fn on_message(&mut self, line: &[u8], route: &Route) {
        self.on_incoming(jsonrpc::parse(line), route);
    }

    /// Handles one message already read from its line.
    pub(crate) fn on_incoming(&mut self, message: Result<Incoming<'_>, Rejection>, route: &Route) {
        match message {
            Err(rejection) => {
                incr(&self.shared.core.metrics_ref().messages_invalid);
                tracing::debug!(code = rejection.error.code, "invalid message");
                self.reply(encode_error(rejection.id.as_ref(), &rejection.error), route);
            }
            Ok(Incoming::Request { id, method, params }) => self.on_request(id, &method, params, route),
            Ok(Incoming::Notification { method, params }) => {
                self.on_notification(&method, params.into_value())
            }
            Ok(Incoming::Response { id, outcome }) => {
                if !self.pending.complete(&id, outcome) {
                    incr(&self.shared.core.metrics_ref().responses_unmatched);
                    tracing::debug!(session = %self.session.id(), ?id, "ignoring a response to no waiting request");
                }
            }
        }
    }

    // `#[inline]` on `outbox`, `reply` and `spawn_call`: their caller,
    // `inbound.rs`, is another module; inlined, a call answered at once
    // costs what it did before the split (about 250 instructions over
    // TCP; `analysis/`).

    /// The outbox a route names.
    #[inline]
    fn outbox<'a>(&'a self, route: &'a Route) -> &'a OutboxSender {
        match route {
            Route::Session => self.session.outbox(),
            Route::Stream { outbox, .. } => outbox,
        }
    }

    /// Queues an answer; if its outbox is full, a task waits for room (and
    /// counts against the in-flight cap, so the transport stops reading).
    #[inline]
    fn reply(&mut self, frame: bytes::Bytes, route: &Route) {
        let outbox = self.outbox(route);
        if self.write_through
            && matches!(route, Route::Session)
            && self.held.has_room()
            && (outbox.depth() == 0 || mutant("answer_overtakes_notification"))
        {
            self.held.push(outbox.answer(frame));
            return;
        }
        match outbox.try_send(frame) {
            Ok(()) | Err(None) => {}
            Err(Some(envelope)) => {
                let outbox = outbox.clone();
                let token = self.session.token().clone();
                let tracked = self.shared.core.drain_token();
                self.in_flight.spawn(async move {
                    send_reply(&outbox, &token, envelope).await;
                    drop(tracked);
                    None
                });
            }
        }
    }

    /// Starts a handler call. It is polled once right here: a handler
    /// that finishes without waiting (like `echo`) is answered at once, with
    /// no task, no timer and no entry in `requests`. Otherwise the
    /// half-run call moves into a task of its own, which polls it again at
    /// once (so it registers that task's waker) and adds the timeout.
    #[inline]
    fn spawn_call(&mut self, id: RequestId, mut call: Call, route: &Route, span: &tracing::Span) {
        let mut gauge = InFlight::new(Arc::clone(self.shared.core.metrics_ref()), call.label.method());
        let token = match route {
            Route::Session => RequestToken::child_of(&self.session_token),
            Route::Stream { token, .. } => RequestToken::Ready(token.clone()),
        };
        let outbox = self.outbox(route).clone();
        let (detach, http) = match route {
            Route::Stream { detach, request, .. } => (detach.clone(), Some(Arc::clone(request))),
            Route::Session => (None, None),
        };
        let generation = call.generation;
        let label = std::mem::take(&mut call.label);
        // A stateless request has no session to carry the client's answer.
        let client = (!generation.is_stateless()).then(|| ClientLink {
            pending: Arc::clone(&self.pending),
            capabilities: Arc::clone(&self.client_capabilities),
            timeout: self.shared.config.client_request_timeout,
        });
        let mut call: CallFuture = call.start(CallEnv {
            id: id.clone(),
            token: token.clone(),
            outbox: outbox.clone(),
            detach,
            client,
            task: None,
            server: self.handle.clone(),
            session_log_level: self.log_level,
            http,
        });
        let first = {
            let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
            // A panic in this poll is caught by `catch_unwind` inside `call`.
            std::pin::Pin::new(&mut call).poll(&mut cx)
        };
        if let Poll::Ready(result) = first {
            let answer = answer(&mut gauge, &label, &id, generation, &self.shared, result);
            self.reply(answer, route);
            return;
        }
        // Going on in a task of its own: the request needs its token now.
        let token = token.get().clone();
        self.requests.insert(id.clone(), token.clone());
        let task = CallTask {
            stop: self.session.token().clone(),
            route: outbox,
            timeout: self.shared.config.request_timeout,
            generation,
            shared: Arc::clone(&self.shared),
        };
        if !mutant("call_untracked_by_drain") {
            gauge.track(self.shared.core.drain_token());
        }
        self.in_flight
            .spawn(task.run(id, label, call, token, gauge).instrument(span.clone()));
    }
}
