//! `tasks/get`, `tasks/update` and `tasks/cancel`: answered from this
//! server's task table when it holds the task, else (with a task store)
//! from the task's record, by a call that waits on the store.

use futures_util::FutureExt;
use serde_json::{Map, Value};

use super::as_task::answering;
use super::{Dispatch, Label, client_capabilities};
use crate::auth::Principal;
use crate::protocol::jsonrpc::ErrorObject;
use crate::protocol::mcp::{Generation, finish_result};
use crate::protocol::method::Method;
use crate::protocol::tasks::{declares_tasks, tasks_required};
use crate::server::Shared;
use crate::server::api::handler::required_str;
use crate::server::engine::answer::Answer;
use crate::server::ext::tasks::stored;
use crate::server::store::TaskEvent;

/// Answers `method` (one of the three) with `params`, for `caller`.
pub(super) fn steer(
    shared: &Shared,
    method: Method,
    params: Option<Value>,
    generation: Generation,
    caller: Option<&Principal>,
) -> Dispatch {
    if generation.is_stateless() && !declares_tasks(client_capabilities(params.as_ref())) {
        return Dispatch::Reply(Err(tasks_required()));
    }
    let id = match required_str(params.as_ref(), "taskId", method.name()) {
        Ok(id) => id.to_owned(),
        Err(error) => return Dispatch::Reply(Err(error)),
    };
    let responses = match params.as_ref().and_then(|p| p.get("inputResponses")) {
        Some(Value::Object(responses)) => Some(responses),
        _ if method == Method::TasksUpdate => {
            return Dispatch::Reply(Err(ErrorObject::invalid_params(
                "tasks/update: inputResponses (object) is required",
            )));
        }
        _ => None,
    };
    let key = caller.map(Principal::caller_key);
    let caller = key.as_deref();
    if let Some(store) = shared.task_store.clone()
        && !shared.tasks.holds(&id)
    {
        let caller = caller.map(str::to_owned);
        let event = match method {
            Method::TasksGet => None,
            Method::TasksCancel => Some(TaskEvent::Cancel {
                id: id.clone(),
                caller: caller.clone(),
            }),
            _ => Some(TaskEvent::Update {
                id: id.clone(),
                caller: caller.clone(),
                responses: responses.cloned().unwrap_or_else(Map::new),
            }),
        };
        let label = Label::new(method.name(), &*id);
        return Dispatch::Call(answering(label, generation, move |shared| {
            async move {
                let answer = match event {
                    None => stored::get(shared, store, id, caller).await,
                    Some(event) => stored::steer(shared, store, event).await,
                };
                answer.map(Answer::Json)
            }
            .boxed()
        }));
    }
    let answer = match (method, responses) {
        (Method::TasksGet, _) => shared.tasks.get(&id, caller),
        (Method::TasksCancel, _) => shared.tasks.cancel(shared, &id, caller),
        (_, responses) => shared
            .tasks
            .update(shared, &id, caller, responses.expect("checked above")),
    };
    Dispatch::Reply(answer.map(|r| finish_result(generation, r, &shared.info)))
}
