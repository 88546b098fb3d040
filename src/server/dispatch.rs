//! Request dispatch: which method does what, and what it answers.
//!
//! Everything but `tools/call` is answered here, synchronously, by the
//! session loop; `tools/call` becomes a [`Dispatch::Call`], which the session
//! polls once itself and, if the tool has to wait, runs as a task of its own.

use serde_json::{Value, json};

use super::Shared;
use super::tools::Tool;
use crate::protocol::jsonrpc::ErrorObject;
use crate::protocol::listen::ListenFilter;
use crate::protocol::mcp::{
    Generation, Lifecycle, STATELESS_VERSIONS, cacheable, finish_result, log_level_rank, supported_versions,
};

/// How long a client may cache `server/discover` and `tools/list` (2026-07-28),
/// in milliseconds. The tool set is fixed when the server is built.
const CACHE_TTL_MS: u64 = 60_000;

/// The methods a stateless (2026-07-28) request may call; the others
/// (`initialize`, `ping`, `logging/setLevel`, ...) do not exist there.
const STATELESS_METHODS: [&str; 4] = [
    "server/discover",
    "tools/list",
    "tools/call",
    "subscriptions/listen",
];

/// True if a stateless request may call `method`.
pub(crate) fn is_stateless_method(method: &str) -> bool {
    STATELESS_METHODS.contains(&method)
}

/// What to do with a request.
#[derive(Debug)]
pub(crate) enum Dispatch {
    /// Answer now.
    Reply(Result<Value, ErrorObject>),
    /// Run a tool.
    Call {
        tool: Tool,
        args: Value,
        progress_token: Option<Value>,
        generation: Generation,
    },
    /// `logging/setLevel` accepted: apply this level rank, then answer `{}`.
    SetLogLevel(u8, Generation),
    /// `subscriptions/listen` (2026-07-28): open a listen stream with this
    /// filter.
    Listen(ListenFilter),
}

/// Routes one request of a session.
pub(crate) fn dispatch(
    shared: &Shared,
    lifecycle: &mut Lifecycle,
    method: &str,
    params: Option<Value>,
) -> Dispatch {
    let generation = match lifecycle.classify(method, params.as_ref()) {
        Ok(generation) => generation,
        Err(error) => return Dispatch::Reply(Err(error)),
    };
    let reply = |result: Value| Dispatch::Reply(Ok(finish_result(generation, result, &shared.info)));
    match method {
        "initialize" if !generation.is_stateless() => match lifecycle.initialize(params.as_ref()) {
            Ok(version) => {
                let mut result = json!({
                    "protocolVersion": version,
                    "capabilities": capabilities(),
                    "serverInfo": server_info(shared),
                });
                if let Some(instructions) = &shared.instructions {
                    result["instructions"] = json!(instructions);
                }
                Dispatch::Reply(Ok(result))
            }
            Err(error) => Dispatch::Reply(Err(error)),
        },
        "ping" => reply(json!({})),
        "server/discover" => {
            let mut result = json!({
                "supportedVersions": supported_versions(),
                "capabilities": capabilities(),
                "serverInfo": server_info(shared),
            });
            if let Some(instructions) = &shared.instructions {
                result["instructions"] = json!(instructions);
            }
            // Discovery is a stateless operation in every generation.
            let stateless = Generation::Stateless(STATELESS_VERSIONS[0]);
            Dispatch::Reply(Ok(finish_result(
                stateless,
                cacheable(stateless, result, CACHE_TTL_MS, true),
                &shared.info,
            )))
        }
        "tools/list" => reply(cacheable(
            generation,
            json!({"tools": shared.tools.list()}),
            CACHE_TTL_MS,
            true,
        )),
        "tools/call" => route_call(shared, params, generation),
        "subscriptions/listen" if generation.is_stateless() => match ListenFilter::parse(params.as_ref()) {
            Ok(filter) => Dispatch::Listen(filter),
            Err(error) => Dispatch::Reply(Err(error)),
        },
        "logging/setLevel" => {
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
        _ => Dispatch::Reply(Err(ErrorObject::method_not_found(method))),
    }
}

fn route_call(shared: &Shared, params: Option<Value>, generation: Generation) -> Dispatch {
    let Some(Value::Object(mut params)) = params else {
        return Dispatch::Reply(Err(ErrorObject::invalid_params(
            "tools/call: params must be an object",
        )));
    };
    let Some(name) = params.get("name").and_then(Value::as_str) else {
        return Dispatch::Reply(Err(ErrorObject::invalid_params(
            "tools/call: name (string) is required",
        )));
    };
    let Some(tool) = shared.tools.get(name) else {
        return Dispatch::Reply(Err(ErrorObject::invalid_params(format!("unknown tool: {name}"))));
    };
    let args = match params.remove("arguments") {
        None | Some(Value::Null) => json!({}),
        Some(args @ Value::Object(_)) => args,
        Some(_) => {
            return Dispatch::Reply(Err(ErrorObject::invalid_params(
                "tools/call: arguments must be an object",
            )));
        }
    };
    let progress_token = params
        .get("_meta")
        .and_then(|m| m.get("progressToken"))
        .filter(|t| t.is_string() || t.is_number())
        .cloned();
    Dispatch::Call {
        tool: tool.clone(),
        args,
        progress_token,
        generation,
    }
}

fn capabilities() -> Value {
    json!({"tools": {"listChanged": false}, "logging": {}})
}

fn server_info(shared: &Shared) -> Value {
    shared.info.clone()
}
