//! What a handler (of a tool, resource, prompt or completion) knows about
//! the request it serves, and how it talks back on that request's route:
//! progress, log messages, other notifications.

use serde_json::{Value, json};

use crate::core::OutboxSender;
use crate::error::NotifyError;
use crate::protocol::jsonrpc::{RequestId, encode_notification};
use crate::protocol::mcp::log_level_rank;
use crate::protocol::trace_context::TraceContext;
use crate::server::ServerHandle;
use crate::server::api::http_request::HttpRequest;
use crate::server::api::request_token::RequestToken;
use crate::server::ext::client_requests::{ClientLink, InputError};
use crate::server::ext::input_round::InputRound;
use crate::server::ext::tasks::TaskLink;
use crate::sync::Arc;
use crate::sync::CancellationToken;

/// What a handler knows about the request it serves.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub(crate) request_id: RequestId,
    pub(crate) token: RequestToken,
    pub(crate) progress_token: Option<Value>,
    pub(crate) outbox: OutboxSender,
    pub(crate) server: ServerHandle,
    /// Cancelled to close the request's stream while it goes on; `None`
    /// where a stream cannot be resumed.
    pub(crate) detach: Option<CancellationToken>,
    /// How to ask the client something (a 2025 session); `None` for a
    /// stateless request.
    pub(crate) client: Option<ClientLink>,
    /// A 2026-07-28 call's questions and answers: asking looks the answer
    /// up, or records the question for `input_required`.
    pub(crate) inputs: Option<Arc<InputRound>>,
    /// The task this request runs as, if any: asking shows the question on
    /// the task until `tasks/update` answers it.
    pub(crate) task: Option<TaskLink>,
    /// The lowest log level (rank) the client wants on this request's
    /// route; `None`: no log messages (a 2026-07-28 request that named no
    /// `logLevel`).
    pub(crate) log_level: Option<u8>,
    /// The HTTP request that carried the call, when one did.
    pub(crate) http: Option<HttpRequest>,
    /// The trace the request's `_meta` named, with the server's span.
    pub(crate) trace: Option<Box<TraceContext>>,
}

impl RequestContext {
    /// The id of the request.
    pub fn request_id(&self) -> &RequestId {
        &self.request_id
    }

    /// The trace the request named in its `_meta` (`traceparent`,
    /// `tracestate`, `baggage`; SEP-414), with the server's own span in it:
    /// pass [`TraceContext::traceparent`] on to what the handler calls so
    /// the trace goes on. `None` when the request named none (or an
    /// invalid one).
    pub fn trace_context(&self) -> Option<&TraceContext> {
        self.trace.as_deref()
    }

    /// The HTTP request that carried this call (its method, URI, headers
    /// and extensions), or `None` over stdio and TCP, which have none.
    ///
    /// What a tower layer or hyper service in front of the MCP service
    /// found (an authenticated caller, a request id) is in its extensions:
    /// `ctx.http_request().and_then(|r| r.extensions.get::<Caller>())`.
    /// For a 2025 session, it is the POST that carried this request, not
    /// the `initialize` that opened the session.
    pub fn http_request(&self) -> Option<&http::request::Parts> {
        self.http.as_deref()
    }

    /// The authenticated caller: the [`Principal`](crate::auth::Principal)
    /// the HTTP service's authorization found in the request's bearer token
    /// (or that a layer of your own put in its extensions). `None` over
    /// stdio and TCP, and over HTTP without authorization.
    pub fn principal(&self) -> Option<&crate::auth::Principal> {
        self.http_request()?.extensions.get()
    }

    /// The session the request came from.
    pub fn session(&self) -> crate::core::SessionId {
        self.outbox.session()
    }

    /// The request's token: cancelled by `notifications/cancelled`, the
    /// client disconnecting, the request timing out, or shutdown.
    pub fn cancellation_token(&self) -> &CancellationToken {
        self.token.get()
    }

    /// True once the request has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Completes when the request is cancelled.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe.
    pub async fn cancelled(&self) {
        self.token.get().cancelled().await;
    }

    /// The `progressToken` the client sent, if it asked for progress.
    pub fn progress_token(&self) -> Option<&Value> {
        self.progress_token.as_ref()
    }

    /// True if the client asked for progress (sent a `progressToken`).
    pub fn wants_progress(&self) -> bool {
        self.progress_token.is_some()
    }

    /// Sends `notifications/progress` if the client asked for it; does
    /// nothing otherwise.
    ///
    /// # Errors
    ///
    /// As [`RequestContext::notify`].
    pub fn progress(
        &self,
        progress: f64,
        total: Option<f64>,
        message: Option<&str>,
    ) -> Result<(), NotifyError> {
        let Some(token) = &self.progress_token else {
            return Ok(());
        };
        let mut params = json!({"progressToken": token, "progress": progress});
        if let Some(total) = total {
            params["total"] = json!(total);
        }
        if let Some(message) = message {
            params["message"] = json!(message);
        }
        self.notify("notifications/progress", Some(params))
    }

    /// Sends a notification to the client of this request, without waiting.
    ///
    /// # Errors
    ///
    /// [`NotifyError`] if the outbox is full (the message is counted as
    /// dropped) or the session is gone.
    ///
    /// A `notifications/message` goes only where [`RequestContext::log`]
    /// would send it: one below the level the client asked for, or on a
    /// 2026-07-28 request that named no `logLevel`, is not sent (the
    /// specification forbids it) and this returns `Ok`.
    pub fn notify(&self, method: &str, params: Option<Value>) -> Result<(), NotifyError> {
        if method == "notifications/message" {
            let level = params
                .as_ref()
                .and_then(|p| p.get("level"))
                .and_then(Value::as_str);
            if !self.wants_log(level.and_then(log_level_rank).unwrap_or(1)) {
                return Ok(());
            }
        }
        self.outbox.try_notify(encode_notification(method, params))
    }

    /// True if the client wants log messages of `rank` on this request.
    fn wants_log(&self, rank: u8) -> bool {
        self.log_level.is_some_and(|min| rank >= min)
    }

    /// Sends a log message (`notifications/message`) on this request's
    /// route if the client wants messages of `level` (`"debug"` ..
    /// `"emergency"`; an unknown name counts as `"info"`): at or above the
    /// level it set with `logging/setLevel` (2025), or named in the
    /// request's `_meta` (2026-07-28, where a request that names none gets
    /// none). True if it was sent.
    ///
    /// # Errors
    ///
    /// As [`RequestContext::notify`].
    pub fn log(&self, level: &str, logger: Option<&str>, data: Value) -> Result<bool, NotifyError> {
        let (level, rank) = match log_level_rank(level) {
            Some(rank) => (level, rank),
            None => ("info", 1),
        };
        if !self.wants_log(rank) {
            return Ok(false);
        }
        let mut params = json!({"level": level, "data": data});
        if let Some(logger) = logger {
            params["logger"] = json!(logger);
        }
        self.outbox
            .try_notify(encode_notification("notifications/message", Some(params)))
            .map(|()| true)
    }

    /// Closes this request's stream while the request goes on, for the
    /// client to resume it (SEP-1699 polling): on a 2025 HTTP session whose
    /// request is answered as SSE, the stream ends after its priming event
    /// (which told the client when to come back) and whatever was already
    /// queued; what the handler sends next, its answer included, waits for
    /// the client's GET with `Last-Event-ID`. Elsewhere (stdio, TCP,
    /// 2026-07-28 requests, clients before 2025-11-25 without an event id
    /// to resume from) the stream stays open. True if the stream can be
    /// resumed.
    pub fn close_stream(&self) -> bool {
        match &self.detach {
            Some(detach) => {
                detach.cancel();
                true
            }
            None => false,
        }
    }

    /// Sends the client a request of its own (`method` with `params`) on
    /// this request's stream and waits for the answer's `result`.
    ///
    /// # Errors
    ///
    /// An [`InputError`]: the client lacks the capability the method needs
    /// (`elicitation`, `sampling`, `roots`: at once), answered with an
    /// error, did not answer within `client_request_timeout`, the session
    /// ended, too many requests wait, or (a stateless request) no way back.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropped before the answer, the request is forgotten.
    pub async fn ask_client(&self, method: &str, params: Value) -> Result<Value, InputError> {
        let key = match (
            &self.client,
            self.task.as_ref().and_then(TaskLink::active),
            &self.inputs,
        ) {
            (Some(_), _, _) => String::new(),
            (None, Some(task), _) => task.next_key(),
            (None, None, Some(round)) => round.next_key(),
            (None, None, None) => return Err(InputError::Unavailable),
        };
        self.ask_client_as(&key, method, params).await
    }

    /// As [`RequestContext::ask_client`], naming the question `key` in a
    /// 2026-07-28 request's `inputRequests` (a 2025 session ignores it).
    /// Unnamed questions are keyed `input-<n>` in the order asked.
    ///
    /// In a 2026-07-28 request a question not answered yet fails with
    /// [`InputError::Required`]: return (or ignore) it, and the call ends
    /// with `input_required`; the client answers and retries, and the
    /// handler runs again, this time with the answer. Several questions
    /// asked before returning go out in one round.
    ///
    /// # Errors
    ///
    /// As [`RequestContext::ask_client`], and [`InputError::Required`].
    pub async fn ask_client_as(
        &self,
        key: &str,
        method: &str,
        mut params: Value,
    ) -> Result<Value, InputError> {
        // The request joins the trace the call belongs to, as the server's
        // child (SEP-414).
        if let (Some(trace), Some(params)) = (&self.trace, params.as_object_mut()) {
            let meta = params.entry("_meta").or_insert_with(|| json!({}));
            if let Some(meta) = meta.as_object_mut() {
                trace.propagate(meta);
            }
        }
        if let Some(link) = &self.client {
            return link.ask(&self.outbox, method, params).await;
        }
        // A call that became a task asks through the task, unless the
        // request that started it brought the answer (a multi-round-trip
        // exchange before the task).
        if let Some(task) = self.task.as_ref().and_then(TaskLink::active) {
            if let Some(answer) = self.inputs.as_ref().and_then(|round| round.answer(key)) {
                return Ok(answer);
            }
            return task.ask(key, method, params).await;
        }
        match &self.inputs {
            Some(round) => round.ask(key, method, params),
            None => Err(InputError::Unavailable),
        }
    }

    /// [`RequestContext::elicit`] under the key `key`.
    ///
    /// # Errors
    ///
    /// As [`RequestContext::ask_client_as`].
    pub async fn elicit_as(
        &self,
        key: &str,
        message: &str,
        requested_schema: Value,
    ) -> Result<Value, InputError> {
        let params = json!({"message": message, "requestedSchema": requested_schema});
        self.ask_client_as(key, "elicitation/create", params).await
    }

    /// [`RequestContext::sample`] under the key `key`.
    ///
    /// # Errors
    ///
    /// As [`RequestContext::ask_client_as`].
    pub async fn sample_as(&self, key: &str, params: Value) -> Result<Value, InputError> {
        self.ask_client_as(key, "sampling/createMessage", params).await
    }

    /// [`RequestContext::list_roots`] under the key `key`.
    ///
    /// # Errors
    ///
    /// As [`RequestContext::ask_client_as`].
    pub async fn list_roots_as(&self, key: &str) -> Result<Value, InputError> {
        self.ask_client_as(key, "roots/list", json!({})).await
    }

    /// Asks the user for input through the client (`elicitation/create`):
    /// `message` and the JSON Schema of what to ask. Returns the client's
    /// result (`{action: "accept" | "decline" | "cancel", content?}`).
    ///
    /// # Errors
    ///
    /// As [`RequestContext::ask_client`].
    pub async fn elicit(&self, message: &str, requested_schema: Value) -> Result<Value, InputError> {
        let params = json!({"message": message, "requestedSchema": requested_schema});
        self.ask_client("elicitation/create", params).await
    }

    /// Asks the client's model for a completion (`sampling/createMessage`
    /// with `params`: `messages`, `maxTokens`, ...). Returns the client's
    /// result (`{role, content, model, stopReason?}`).
    ///
    /// # Errors
    ///
    /// As [`RequestContext::ask_client`].
    pub async fn sample(&self, params: Value) -> Result<Value, InputError> {
        self.ask_client("sampling/createMessage", params).await
    }

    /// Asks the client for its roots (`roots/list`). Returns the client's
    /// result (`{roots: [{uri, name?}]}`).
    ///
    /// # Errors
    ///
    /// As [`RequestContext::ask_client`].
    pub async fn list_roots(&self) -> Result<Value, InputError> {
        self.ask_client("roots/list", json!({})).await
    }

    /// The server, for notifying other sessions or broadcasting.
    pub fn server(&self) -> &ServerHandle {
        &self.server
    }
}
