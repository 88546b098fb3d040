//! A call started as a task of the tasks extension: the engine gives it
//! its token, its link to the task it may become and an outbox that goes
//! nowhere (a task has no stream), then hands it to [`Tasks::start`].
//!
//! [`Tasks::start`]: crate::server::ext::tasks::Tasks::start

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde_json::Value;

use super::{Call, CallEnv, Invoke, Label, caller};
use crate::protocol::jsonrpc::{ErrorObject, RequestId};
use crate::protocol::mcp::Generation;
use crate::server::api::http_request::HttpRequest;
use crate::server::api::request_token::RequestToken;
use crate::server::engine::answer::Answer;
use crate::server::ext::tasks::{Started, Starter, TaskLink};
use crate::server::{ServerHandle, Shared};
use crate::sync::Arc;

/// How a call started as a task is answered.
pub(crate) enum Begun {
    /// Now, with this.
    Now(Result<Value, ErrorObject>),
    /// By this call, once the task store has the task.
    Later(Call),
}

impl Call {
    /// Runs the call as a task (or answers it at once if its handler
    /// finishes without waiting): the answer to send now, or, with a task
    /// store, a call that answers once the store has the task.
    ///
    /// # Errors
    ///
    /// -32000 when the task table is full or the server is shutting down.
    pub(crate) fn start_as_task(
        self,
        shared: &Arc<Shared>,
        capabilities: Value,
        http: Option<HttpRequest>,
    ) -> Begun {
        let label = self.label.clone();
        let token = shared.core.shutdown_token().child_token();
        let link = TaskLink::default();
        // A task has no stream: what it would notify goes nowhere.
        let (outbox, rx) = shared.core.request_outbox(shared.core.next_id(), token.clone());
        drop(rx);
        let generation = self.generation;
        // The task belongs to the caller that started it, if one is known.
        let owner = caller(http.as_ref()).map(|p| p.caller_key().to_string());
        let run = self.start(CallEnv {
            id: RequestId::String(String::new()),
            token: RequestToken::Ready(token.clone()),
            outbox,
            detach: None,
            client: None,
            task: Some(link.clone()),
            server: ServerHandle {
                shared: Arc::clone(shared),
            },
            session_log_level: 0,
            http,
        });
        // A task keeps its result as JSON, as a 2025 session would get it.
        let run = run.map(|done| done.map(|answered| answered.map(Answer::into_value)));
        let started = shared.tasks.start(
            shared,
            token,
            &link,
            generation,
            Starter { capabilities, owner },
            run,
        );
        match started {
            Started::Now(answer) => Begun::Now(answer),
            Started::Saved(saved) => Begun::Later(answering(label, generation, move |_| {
                saved.map(|answer| answer.map(Answer::Plain)).boxed()
            })),
        }
    }
}

/// A call whose answer is what `answer` makes of the server (work that
/// waits on a store, not a handler's).
pub(super) fn answering(
    label: Label,
    generation: Generation,
    answer: impl FnOnce(Arc<Shared>) -> BoxFuture<'static, Result<Answer, ErrorObject>> + Send + 'static,
) -> Call {
    Call {
        label,
        invoke: Invoke::Other(Box::new(move |ctx| answer(Arc::clone(&ctx.server.shared)))),
        progress_token: None,
        log_level: None,
        generation,
        inputs: None,
        trace: None,
    }
}
