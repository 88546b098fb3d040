//! Request dispatch: which method does what, and what it answers.
//!
//! What needs no handler of the user's is answered here, synchronously, by
//! the session loop (`initialize`, `ping`, the list methods, ...). A request
//! that runs a handler (`tools/call`, `resources/read`, `prompts/get`,
//! `completion/complete`; see `calls.rs`) becomes a [`Dispatch::Call`],
//! which the session polls once itself and, if it has to wait, runs as a
//! task of its own.

mod as_task;
mod calls;
mod lists;
mod running;
mod settle;
mod skills;
mod tasks;

use serde_json::{Value, json};

use crate::auth::Principal;
use crate::core::OutboxSender;
use crate::protocol::jsonrpc::{ErrorObject, RequestId};
use crate::protocol::listen::ListenFilter;
use crate::protocol::mcp::{
    Generation, Lifecycle, STATELESS_VERSIONS, cacheable, finish_result, log_level_rank, supported_versions,
};
use crate::protocol::method::Method;
use crate::protocol::params::Params;
use crate::protocol::tasks::{declares_tasks, tasks_required};
use crate::protocol::trace_context::TraceContext;
use crate::server::Shared;
use crate::server::api::catalog::pages::ListKind;
use crate::server::api::handler::{BoxFuture, required_str};
use crate::server::api::http_request::HttpRequest;
use crate::server::api::request_token::RequestToken;
use crate::server::api::tools::Tool;
use crate::server::api::visible_tools::VisibleTools;
use crate::server::engine::answer::Answer;
use crate::server::ext::client_requests::ClientLink;
use crate::server::ext::input_round::InputRound;
use crate::server::ext::tasks::TaskLink;
use crate::server::{RequestContext, ServerHandle};
use crate::sync::{Arc, CancellationToken};

pub(crate) use running::CallFuture;
use running::Running;
pub(crate) use settle::{Host, settle};

/// A handler's work, to start with the request's context.
pub(crate) enum Invoke {
    /// A tool, with the call's arguments.
    Tool(Tool, Value),
    /// Any other handler's work.
    Other(Box<dyn FnOnce(RequestContext) -> BoxFuture<Result<Answer, ErrorObject>> + Send>),
}

/// What a call runs, for logs: `tools/call echo`, `resources/read
/// file:///a`; formatted only when it is logged.
#[derive(Debug, Clone, Default)]
pub(crate) struct Label {
    method: &'static str,
    subject: Arc<str>,
}

impl Label {
    /// `method` of `subject` (a tool's or prompt's name, a URI).
    pub(crate) fn new(method: &'static str, subject: impl Into<Arc<str>>) -> Self {
        Self {
            method,
            subject: subject.into(),
        }
    }

    /// The method the call answers.
    pub(crate) fn method(&self) -> &'static str {
        self.method
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.subject)
    }
}

/// A request that runs a handler of the user's.
pub(crate) struct Call {
    /// What runs, for logs.
    pub(crate) label: Label,
    pub(crate) invoke: Invoke,
    pub(crate) progress_token: Option<Value>,
    /// The log level the request named in its `_meta` (2026-07-28).
    pub(crate) log_level: Option<u8>,
    pub(crate) generation: Generation,
    /// A 2026-07-28 call's questions and answers (multi-round-trip).
    pub(crate) inputs: Option<Arc<InputRound>>,
    /// The trace its `_meta` named (SEP-414), with the server's span.
    pub(crate) trace: Option<Box<TraceContext>>,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("label", &self.label)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// Where a call runs: its request, its route and the session around it.
pub(crate) struct CallEnv {
    pub(crate) id: RequestId,
    pub(crate) token: RequestToken,
    /// Where its messages go (its own stream, or the session's outbox).
    pub(crate) outbox: OutboxSender,
    /// Closes its stream while it goes on, where the stream can be resumed.
    pub(crate) detach: Option<CancellationToken>,
    /// How it asks the client something (2025 sessions).
    pub(crate) client: Option<ClientLink>,
    /// How it asks, when it runs as a task (through `tasks/get`).
    pub(crate) task: Option<TaskLink>,
    pub(crate) server: ServerHandle,
    /// The log level a 2025 session set.
    pub(crate) session_log_level: u8,
    /// The HTTP request that carried the call, if any.
    pub(crate) http: Option<HttpRequest>,
}

impl Call {
    /// Starts the handler in `env`. A 2026-07-28 request's own `_meta`
    /// decides its log level; a 2025 request follows its session's.
    pub(crate) fn start(self, env: CallEnv) -> CallFuture {
        let log_level = if self.generation.is_stateless() {
            self.log_level
        } else {
            Some(env.session_log_level)
        };
        let ctx = RequestContext {
            request_id: env.id,
            token: env.token,
            progress_token: self.progress_token,
            outbox: env.outbox,
            detach: env.detach,
            client: env.client,
            task: env.task,
            inputs: self.inputs.clone(),
            server: env.server,
            log_level,
            http: env.http,
            trace: self.trace,
        };
        let running = match self.invoke {
            Invoke::Tool(tool, args) => Running::Tool(tool.call(args, ctx)),
            Invoke::Other(invoke) => Running::Other(invoke(ctx)),
        };
        CallFuture::new(running, self.inputs)
    }
}

/// What to do with a request.
#[derive(Debug)]
pub(crate) enum Dispatch {
    /// Answer now.
    Reply(Result<Value, ErrorObject>),
    /// Answer now with this result of a request of this generation.
    Ready(Answer, Generation),
    /// Run a handler.
    Call(Call),
    /// `logging/setLevel` accepted: apply this level rank, then answer `{}`.
    SetLogLevel(u8, Generation),
    /// `subscriptions/listen` (2026-07-28): open a listen stream with this
    /// filter.
    Listen(ListenFilter),
    /// Run a tool as a task (tasks extension), for a client with these
    /// capabilities: answer the `CreateTaskResult`.
    Task(Call, Value),
    /// `resources/subscribe` (`on`) or `resources/unsubscribe` (2025): then
    /// answer `{}`.
    Subscribe {
        uri: String,
        on: bool,
        generation: Generation,
    },
}

/// A request's `_meta` client capabilities.
/// The span of one request: its id and method, and the trace fields a call
/// records when its `_meta` names a trace (`trace_id`, `parent_id`, and
/// the server's `span_id`).
pub(crate) fn request_span(id: &RequestId, method: &str) -> tracing::Span {
    let empty = tracing::field::Empty;
    tracing::debug_span!("request", id = %id, method, trace_id = empty, parent_id = empty, span_id = empty)
}

/// The authenticated caller of a request carried by `http`, if any.
pub(crate) fn caller(http: Option<&HttpRequest>) -> Option<&Principal> {
    http?.extensions.get()
}

/// Which tools `tools/list` shows the request carried by `http`, if a
/// layer said.
fn visible_tools(http: Option<&HttpRequest>) -> Option<&VisibleTools> {
    http?.extensions.get()
}

fn client_capabilities(params: Option<&Value>) -> Option<&Value> {
    params
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(crate::protocol::mcp::META_CLIENT_CAPABILITIES))
}

/// Routes one request of a session.
pub(crate) fn dispatch(
    shared: &Shared,
    lifecycle: &mut Lifecycle,
    method: &str,
    params: Params<'_>,
    http: Option<&HttpRequest>,
) -> Dispatch {
    let caller = caller(http);
    let generation = match lifecycle.classify(method, params.meta()) {
        Ok(generation) => generation,
        Err(error) => return Dispatch::Reply(Err(error)),
    };
    if generation.is_stateless()
        && let Some(level) = params.meta().and_then(|m| m.get(calls::META_LOG_LEVEL))
        && level.as_str().and_then(log_level_rank).is_none()
    {
        return Dispatch::Reply(Err(ErrorObject::invalid_params(format!(
            "_meta.{}: {level} is not a log level (debug, info, notice, warning, error, critical, alert, \
             emergency)",
            calls::META_LOG_LEVEL
        ))));
    }
    // A method this generation does not have is not found (2026-07-28 has
    // no `initialize`, `ping`, `logging/setLevel` or subscriptions; the
    // handshake generation has no `subscriptions/listen`).
    let in_generation = |m: &Method| {
        if generation.is_stateless() {
            m.stateless()
        } else {
            m.in_sessions()
        }
    };
    // The skills extension's methods exist only while it is declared.
    let skills = |m: &Method| {
        !matches!(m, Method::SkillsList | Method::SkillsGet | Method::DirectoryRead)
            || !shared.catalog.snapshot().skills.is_empty()
    };
    let Some(known) = Method::parse(method).filter(in_generation).filter(skills) else {
        return Dispatch::Reply(Err(ErrorObject::method_not_found(method)));
    };
    let reply = |result: Result<Value, ErrorObject>| {
        Dispatch::Reply(result.map(|r| finish_result(generation, r, &shared.info)))
    };
    let catalog = shared.catalog.snapshot();
    let ttl = shared.config.list_cache_ttl.as_millis() as u64;
    // The common calls read their params typed; the rest as a JSON tree.
    let json = |params: Params<'_>| params.into_value();
    let list = |kind, params| {
        // Only a tools/list asks whether a layer filters what it shows.
        let visible = if kind == ListKind::Tools {
            visible_tools(http)
        } else {
            None
        };
        let keep = |tool: &Tool| visible.is_none_or(|v| v.keeps(tool, caller));
        let keep = visible.is_some().then_some(&keep as &dyn Fn(&Tool) -> bool);
        match lists::list(
            &catalog,
            method,
            kind,
            json(params).as_ref(),
            shared.config.page_size,
            keep,
        ) {
            Ok(page) => Dispatch::Ready(Answer::Page(page), generation),
            Err(error) => Dispatch::Reply(Err(error)),
        }
    };
    match known {
        Method::ToolsCall => calls::tool(shared, &catalog, params, generation, caller),
        Method::ResourcesRead => calls::read(shared, &catalog, params, generation, caller),
        Method::PromptsGet => calls::prompt(shared, &catalog, params, generation, caller),
        Method::Initialize => match lifecycle.initialize(json(params).as_ref()) {
            Ok(version) => {
                let mut result = json!({
                    "protocolVersion": version,
                    "capabilities": catalog.capabilities(),
                    "serverInfo": shared.described,
                });
                if let Some(instructions) = &shared.instructions {
                    result["instructions"] = json!(instructions);
                }
                Dispatch::Reply(Ok(result))
            }
            Err(error) => Dispatch::Reply(Err(error)),
        },
        Method::Ping => reply(Ok(json!({}))),
        Method::Discover => {
            let mut result = json!({
                "supportedVersions": supported_versions(),
                "capabilities": catalog.capabilities(),
                "serverInfo": shared.described,
            });
            if let Some(instructions) = &shared.instructions {
                result["instructions"] = json!(instructions);
            }
            // Discovery is a stateless operation in every generation.
            let stateless = Generation::Stateless(STATELESS_VERSIONS[0]);
            Dispatch::Reply(Ok(finish_result(
                stateless,
                cacheable(stateless, result, ttl, true),
                &shared.info,
            )))
        }
        Method::ToolsList => list(ListKind::Tools, params),
        Method::ResourcesList => list(ListKind::Resources, params),
        Method::TemplatesList => list(ListKind::Templates, params),
        Method::PromptsList => list(ListKind::Prompts, params),
        Method::Complete => calls::complete(&catalog, json(params), generation),
        Method::SkillsList => {
            let listed = skills::list(&catalog, json(params).as_ref(), shared.config.page_size);
            reply(listed.map(|result| cacheable(generation, result, ttl, true)))
        }
        Method::SkillsGet => {
            let entry = skills::get(&catalog, json(params).as_ref());
            reply(entry.map(|result| cacheable(generation, result, ttl, true)))
        }
        Method::DirectoryRead => reply(skills::read_directory(&catalog, json(params).as_ref())),
        Method::Subscribe | Method::Unsubscribe => match required_str(json(params).as_ref(), "uri", method) {
            Ok(uri) => Dispatch::Subscribe {
                uri: uri.to_owned(),
                on: known == Method::Subscribe,
                generation,
            },
            Err(error) => Dispatch::Reply(Err(error)),
        },
        Method::Listen => {
            let params = json(params);
            match ListenFilter::parse(params.as_ref()) {
                Ok(filter)
                    if filter.wants_tasks() && !declares_tasks(client_capabilities(params.as_ref())) =>
                {
                    Dispatch::Reply(Err(tasks_required()))
                }
                Ok(mut filter) => {
                    let key = caller.map(Principal::caller_key);
                    filter.withhold_tasks(|id| shared.tasks.belongs_to_another(id, key.as_deref()));
                    Dispatch::Listen(filter)
                }
                Err(error) => Dispatch::Reply(Err(error)),
            }
        }
        Method::TasksGet | Method::TasksUpdate | Method::TasksCancel => {
            tasks::steer(shared, known, json(params), generation, caller)
        }
        Method::SetLogLevel => {
            let params = json(params);
            let level = params
                .as_ref()
                .and_then(|p| p.get("level"))
                .and_then(Value::as_str);
            match level.and_then(log_level_rank) {
                Some(rank) => Dispatch::SetLogLevel(rank, generation),
                None => Dispatch::Reply(Err(ErrorObject::invalid_params(
                    "logging/setLevel: level must be one of debug, info, notice, warning, error, \
                     critical, alert, emergency",
                ))),
            }
        }
    }
}
