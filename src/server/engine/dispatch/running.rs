//! A started call: its handler's future, with panics caught and a
//! 2026-07-28 call's unanswered questions turned into `input_required`.
//!
//! One struct instead of a chain of boxed adapters: a tool's future is
//! polled as the tool returned it, and its output becomes the answer here.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::BoxFuture;
use crate::protocol::jsonrpc::ErrorObject;
use crate::server::api::tools::{ToolError, ToolOutput};
use crate::server::engine::answer::Answer;
use crate::server::ext::input_round::InputRound;
use crate::sync::Arc;

/// What a started call is running.
pub(crate) enum Running {
    /// A tool's handler.
    Tool(BoxFuture<Result<ToolOutput, ToolError>>),
    /// Any other handler, already mapped to its answer.
    Other(BoxFuture<Result<Answer, ErrorObject>>),
}

/// A handler's call: resolves to its answer, or to the panic that ended it.
pub(crate) struct CallFuture {
    running: Running,
    /// A 2026-07-28 call's questions and answers.
    inputs: Option<Arc<InputRound>>,
}

impl CallFuture {
    pub(crate) fn new(running: Running, inputs: Option<Arc<InputRound>>) -> Self {
        Self { running, inputs }
    }
}

impl Future for CallFuture {
    type Output = std::thread::Result<Result<Answer, ErrorObject>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| match &mut this.running {
            Running::Tool(run) => run.as_mut().poll(cx).map(call_result),
            Running::Other(run) => run.as_mut().poll(cx),
        }));
        match polled {
            Err(panic) => Poll::Ready(Err(panic)),
            Ok(Poll::Pending) => Poll::Pending,
            // A call that asked what it was not given ends with
            // `input_required`, whatever its handler made of the `Required`
            // errors.
            Ok(Poll::Ready(result)) => {
                Poll::Ready(Ok(match this.inputs.as_deref().and_then(InputRound::required) {
                    Some(required) => Ok(Answer::Json(required)),
                    None => result,
                }))
            }
        }
    }
}

/// The answer of a finished tool call: the tool's output, or the error.
fn call_result(outcome: Result<ToolOutput, ToolError>) -> Result<Answer, ErrorObject> {
    outcome.or_else(ToolError::into_answer).map(Answer::Tool)
}
