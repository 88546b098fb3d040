//! The requests that run a handler of the user's: `tools/call`,
//! `resources/read`, `prompts/get` and `completion/complete`. Each is
//! checked here (the name exists, the arguments have the right shape) and
//! becomes a [`Call`]: the handler's future, mapped to the method's result.

use futures_util::FutureExt;
use serde_json::{Map, Value, json};

use super::{Call, Dispatch, Invoke, Label};
use crate::auth::Principal;
use crate::protocol::jsonrpc::ErrorObject;
use crate::protocol::mcp::{Generation, META_CLIENT_CAPABILITIES, MISSING_CLIENT_CAPABILITY, log_level_rank};
use crate::protocol::params::{CallKind, CallParams, NamedCall, Params};
use crate::protocol::tasks::{declares_tasks, tasks_required};
use crate::protocol::trace_context::TraceContext;
use crate::server::Shared;
use crate::server::api::catalog::completion::{CompletionRequest, completion_result};
use crate::server::api::catalog::{Catalog, ReadTarget};
use crate::server::api::handler::resource_not_found;
use crate::server::api::tools::TaskSupport;
use crate::server::engine::answer::{Answer, Contents};
use crate::server::ext::input_round::InputRound;
use crate::sync::Arc;

/// The `_meta` key of a 2026-07-28 request's log level.
pub(crate) const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";

/// `params` as an object, or -32602 for `method`.
fn object(params: Option<Value>, method: &str) -> Result<Map<String, Value>, ErrorObject> {
    match params {
        Some(Value::Object(params)) => Ok(params),
        _ => Err(ErrorObject::invalid_params(format!(
            "{method}: params must be an object"
        ))),
    }
}

/// The questions and answers of a 2026-07-28 call of `method` on `name`
/// (`None` for a 2025 one, which asks its client directly), from the
/// call's `_meta`, `requestState` and `inputResponses`.
///
/// # Errors
///
/// -32602 for a bad `requestState` or `inputResponses`.
fn inputs(
    shared: &Shared,
    generation: Generation,
    (method, name): (&str, &str),
    params: &CallParams<'_>,
    caller: Option<&Principal>,
) -> Result<Option<Arc<InputRound>>, ErrorObject> {
    if !generation.is_stateless() {
        return Ok(None);
    }
    let capabilities = params
        .meta
        .as_ref()
        .and_then(|m| m.get(META_CLIENT_CAPABILITIES))
        .cloned()
        .unwrap_or(Value::Null);
    let round = InputRound::new(
        (method, name),
        params.request_state.as_ref(),
        params.input_responses.as_ref(),
        capabilities,
        Arc::clone(&shared.state_keys),
        shared.config.request_state_ttl,
        caller.map(Principal::caller_key),
    )?;
    Ok(Some(Arc::new(round)))
}

/// A [`Call`] of `label`, with the progress token and log level of
/// its params' `_meta`.
fn call(
    label: Label,
    meta: Option<&Value>,
    generation: Generation,
    inputs: Option<Arc<InputRound>>,
    invoke: Invoke,
) -> Dispatch {
    let progress_token = meta
        .and_then(|m| m.get("progressToken"))
        .filter(|t| t.is_string() || t.is_number())
        .cloned();
    let log_level = meta
        .and_then(|m| m.get(META_LOG_LEVEL))
        .and_then(Value::as_str)
        .and_then(log_level_rank);
    let trace = TraceContext::from_meta(meta).map(Box::new);
    if let Some(trace) = &trace {
        // The request's span (entered where it was read) joins the trace.
        let span = tracing::Span::current();
        span.record("trace_id", trace.trace_id());
        span.record("parent_id", trace.parent_id());
        span.record("span_id", trace.span_id());
    }
    Dispatch::Call(Call {
        label,
        invoke,
        progress_token,
        log_level,
        generation,
        inputs,
        trace,
    })
}

macro_rules! try_reply {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(error) => return Dispatch::Reply(Err(error)),
        }
    };
}

/// `tools/call`.
pub(super) fn tool(
    shared: &Shared,
    catalog: &Catalog,
    params: Params<'_>,
    generation: Generation,
    caller: Option<&Principal>,
) -> Dispatch {
    let NamedCall {
        subject: name,
        rest: params,
    } = try_reply!(params.into_call(CallKind::Tool));
    let name = &*name;
    let Some(tool) = catalog.tools.get(name).cloned() else {
        return Dispatch::Reply(Err(ErrorObject::invalid_params(format!("unknown tool: {name}"))));
    };
    let meta = params.meta.as_ref();
    if generation.is_stateless() {
        try_reply!(capabilities_declared(meta, tool.required_capabilities()));
    }
    let capabilities = meta.and_then(|m| m.get(META_CLIENT_CAPABILITIES)).cloned();
    // The tasks extension: a 2026-07-28 client that declares it gets a task
    // for a tool that supports one.
    let as_task = match (generation.is_stateless(), tool.runs_as_task()) {
        (false, _) | (true, TaskSupport::Forbidden) => false,
        (true, support) => {
            let declared = declares_tasks(capabilities.as_ref());
            if support == TaskSupport::Required && !declared {
                return Dispatch::Reply(Err(tasks_required()));
            }
            declared
        }
    };
    // A task call too: what it asks before it first waits is a
    // multi-round-trip exchange, before any task exists.
    let inputs = try_reply!(inputs(shared, generation, ("tools/call", name), &params, caller));
    let args = match params.arguments {
        None => Value::Object(Map::new()),
        Some(args @ Value::Object(_)) => args,
        Some(_) => {
            return Dispatch::Reply(Err(ErrorObject::invalid_params(
                "tools/call: arguments must be an object",
            )));
        }
    };
    let dispatch = call(
        Label::new("tools/call", tool.shared_name()),
        meta,
        generation,
        inputs,
        Invoke::Tool(tool, args),
    );
    match dispatch {
        Dispatch::Call(call) if as_task => Dispatch::Task(call, capabilities.unwrap_or(Value::Null)),
        other => other,
    }
}

/// -32021 unless the request's `_meta` declares every capability in `needed`.
fn capabilities_declared(meta: Option<&Value>, needed: &[String]) -> Result<(), ErrorObject> {
    let declared = meta.and_then(|m| m.get(META_CLIENT_CAPABILITIES));
    let missing: Map<String, Value> = needed
        .iter()
        .filter(|cap| declared.and_then(|d| d.get(cap.as_str())).is_none())
        .map(|cap| (cap.clone(), json!({})))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = missing.keys().map(String::as_str).collect();
    Err(ErrorObject::new(
        MISSING_CLIENT_CAPABILITY,
        format!(
            "this request needs client capabilities not declared: {}",
            names.join(", ")
        ),
    )
    .with_data(json!({"requiredCapabilities": missing})))
}

/// `resources/read`.
pub(super) fn read(
    shared: &Shared,
    catalog: &Catalog,
    params: Params<'_>,
    generation: Generation,
    caller: Option<&Principal>,
) -> Dispatch {
    let NamedCall {
        subject: uri,
        rest: params,
    } = try_reply!(params.into_call(CallKind::Resource));
    let Some(target) = catalog.read_target(&uri) else {
        return Dispatch::Reply(Err(resource_not_found(generation, &uri)));
    };
    let label = Label::new("resources/read", &*uri);
    let inputs = try_reply!(inputs(
        shared,
        generation,
        ("resources/read", &uri),
        &params,
        caller
    ));
    let uri = uri.into_owned();
    call(
        label,
        params.meta.as_ref(),
        generation,
        inputs,
        Invoke::Other(Box::new(move |ctx| {
            let read = match target {
                ReadTarget::Resource(resource, request) => resource.read(request, ctx),
                ReadTarget::Template(template, request) => template.read(request, ctx),
            };
            async move {
                let contents = read.await.map_err(|e| e.into_error(generation, Some(&uri)))?;
                Ok(Answer::Contents(Contents(contents)))
            }
            .boxed()
        })),
    )
}

/// `prompts/get`.
pub(super) fn prompt(
    shared: &Shared,
    catalog: &Catalog,
    params: Params<'_>,
    generation: Generation,
    caller: Option<&Principal>,
) -> Dispatch {
    let NamedCall {
        subject: name,
        rest: params,
    } = try_reply!(params.into_call(CallKind::Prompt));
    let Some(prompt) = catalog.prompts.get(&name).cloned() else {
        return Dispatch::Reply(Err(ErrorObject::invalid_params(format!(
            "unknown prompt: {name}"
        ))));
    };
    let args = try_reply!(
        prompt
            .check_args(params.arguments.as_ref())
            .map_err(|e| e.into_error(generation, None))
    );
    let inputs = try_reply!(inputs(
        shared,
        generation,
        ("prompts/get", &name),
        &params,
        caller
    ));
    call(
        Label::new("prompts/get", &*name),
        params.meta.as_ref(),
        generation,
        inputs,
        Invoke::Other(Box::new(move |ctx| {
            prompt
                .get(args, ctx)
                .map(move |r| r.map(Answer::Prompt).map_err(|e| e.into_error(generation, None)))
                .boxed()
        })),
    )
}

/// `completion/complete`.
pub(super) fn complete(catalog: &Catalog, params: Option<Value>, generation: Generation) -> Dispatch {
    let Some(completer) = catalog.completer.clone() else {
        return Dispatch::Reply(Err(ErrorObject::method_not_found("completion/complete")));
    };
    let request = try_reply!(CompletionRequest::parse(params.as_ref()));
    let params = try_reply!(object(params, "completion/complete"));
    call(
        Label::new("completion/complete", &*request.argument),
        params.get("_meta"),
        generation,
        None,
        Invoke::Other(Box::new(move |ctx| {
            completer
                .complete(request, ctx)
                .map(move |r| {
                    r.map(|result| Answer::Json(completion_result(result)))
                        .map_err(|e| e.into_error(generation, None))
                })
                .boxed()
        })),
    )
}
