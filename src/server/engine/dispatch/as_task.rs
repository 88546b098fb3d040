//! A call started as a task of the tasks extension: the engine gives it
//! its token, its link to the task it may become and an outbox that goes
//! nowhere (a task has no stream), then hands it to [`Tasks::start`].
//!
//! [`Tasks::start`]: crate::server::ext::tasks::Tasks::start

use futures_util::FutureExt;
use serde_json::Value;

use super::{Call, CallEnv, caller};
use crate::protocol::jsonrpc::{ErrorObject, RequestId};
use crate::server::api::http_request::HttpRequest;
use crate::server::api::request_token::RequestToken;
use crate::server::engine::answer::Answer;
use crate::server::ext::tasks::{Starter, TaskLink};
use crate::server::{ServerHandle, Shared};
use crate::sync::Arc;

impl Call {
    /// Runs the call as a task (or answers it at once if its handler
    /// finishes without waiting); `Ok` is the result to send.
    ///
    /// # Errors
    ///
    /// -32000 when the task table is full or the server is shutting down.
    pub(crate) fn start_as_task(
        self,
        shared: &Arc<Shared>,
        capabilities: Value,
        http: Option<HttpRequest>,
    ) -> Result<Value, ErrorObject> {
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
        shared.tasks.start(
            shared,
            token,
            &link,
            generation,
            Starter { capabilities, owner },
            run,
        )
    }
}
