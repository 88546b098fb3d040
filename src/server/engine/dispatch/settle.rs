//! The one place that acts on a [`Dispatch`]: every request, whatever
//! carries it (a 2025 session over stdio, TCP or HTTP, or a 2026-07-28
//! request standing alone on an HTTP POST), is answered, run or opened
//! here, and counted here when it is answered at once.
//!
//! What differs between carriers is behind [`Host`]: where a ready answer
//! goes, how a handler call runs (a session's task set, or a task holding a
//! permit of the stateless gate), and what a session-only method does. A
//! new `Dispatch` variant is handled here once, and the compiler finds it.

use bytes::Bytes;
use serde_json::json;

use super::as_task::Begun;
use super::{Call, Dispatch};
use crate::metrics::requests::Outcome;
use crate::protocol::jsonrpc::{ErrorObject, RequestId, encode_error, encode_result};
use crate::protocol::listen::ListenFilter;
use crate::protocol::mcp::finish_result;
use crate::server::Shared;
use crate::server::api::http_request::HttpRequest;
use crate::sync::Arc;

/// What a request's carrier does with what dispatch decided.
pub(crate) trait Host {
    /// Sends an answer that is ready: a result, or `error` encoded.
    fn send(&mut self, frame: Bytes, error: Option<&ErrorObject>);

    /// Runs a handler call; it is counted when it ends.
    fn run(&mut self, id: RequestId, call: Call);

    /// The HTTP request that carried the request, for a task's handler.
    fn http_request(&self) -> Option<HttpRequest>;

    /// Applies `logging/setLevel`'s level rank to the session.
    fn set_log_level(&mut self, rank: u8);

    /// Records `resources/subscribe` (`on`) or `resources/unsubscribe`.
    ///
    /// # Errors
    ///
    /// When the session may not subscribe to more.
    fn subscribe(&mut self, uri: String, on: bool) -> Result<(), ErrorObject>;

    /// Opens a listen stream for request `id`: acknowledged first, then
    /// it receives what `filter` asks for. A listen stream has no answer:
    /// it counts as answered with the outcome this returns.
    fn listen(&mut self, id: RequestId, filter: ListenFilter) -> Outcome;
}

/// Acts on `dispatch`, the decision for request `id` of method number `m`
/// (see `metrics::requests`).
// Inlined into each carrier: the `Dispatch` and a call in it are moved
// through here once, not copied again at each step.
#[inline]
pub(crate) fn settle(shared: &Arc<Shared>, host: &mut impl Host, id: RequestId, m: u8, dispatch: Dispatch) {
    let count = |outcome: Outcome| {
        shared.core.metrics_ref().requests.record(m, outcome);
        tracing::debug!(outcome = outcome.name(), "request answered");
    };
    let done = match dispatch {
        Dispatch::Call(call) => return host.run(id, call),
        Dispatch::Listen(filter) => return count(host.listen(id, filter)),
        Dispatch::Reply(result) => result,
        Dispatch::Ready(answer, generation) => {
            count(Outcome::Ok);
            return host.send(answer.encode(&id, generation, shared), None);
        }
        Dispatch::SetLogLevel(rank, generation) => {
            host.set_log_level(rank);
            Ok(finish_result(generation, json!({}), &shared.info))
        }
        Dispatch::Subscribe { uri, on, generation } => host
            .subscribe(uri, on)
            .map(|()| finish_result(generation, json!({}), &shared.info)),
        Dispatch::Task(call, capabilities) => {
            match call.start_as_task(shared, capabilities, host.http_request()) {
                Begun::Now(answer) => answer,
                Begun::Later(saving) => return host.run(id, saving),
            }
        }
    };
    match done {
        Ok(result) => {
            count(Outcome::Ok);
            host.send(encode_result(&id, result), None);
        }
        Err(error) => {
            count(Outcome::Error);
            host.send(encode_error(Some(&id), &error), Some(&error));
        }
    }
}
