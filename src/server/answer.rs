//! What a handler's call gives back, and how it is written into its
//! answer: a tool's output straight from its fields, any other result from
//! the JSON its handler built.

use bytes::Bytes;
use serde_json::Value;

use serde_json::value::RawValue;

use super::Shared;
use super::tools::{CallToolResult, ToolOutput};
use crate::protocol::jsonrpc::{RequestId, encode_result, encode_result_of};
use crate::protocol::mcp::{Generation, META_SERVER_INFO, finish_result};

/// The result of a call that succeeded.
#[derive(Debug)]
pub(crate) enum Answer {
    /// A result built as JSON (`resources/read`, `prompts/get`, ...).
    Json(Value),
    /// A tool's output (`tools/call`).
    Tool(ToolOutput),
}

impl Answer {
    /// The result as JSON, as a 2025 session would get it (a task keeps it
    /// so).
    pub(crate) fn into_value(self) -> Value {
        match self {
            Self::Json(value) => value,
            Self::Tool(output) => output.into_result(),
        }
    }

    /// The success response to `id`, for a call of `generation` (a
    /// 2026-07-28 one carries `resultType` and the server's info).
    pub(crate) fn encode(self, id: &RequestId, generation: Generation, shared: &Shared) -> Bytes {
        match self {
            Self::Json(value) => encode_result(id, finish_result(generation, value, &shared.info)),
            Self::Tool(output) => encode_result_of(
                id,
                &CallToolResult {
                    output: &output,
                    stateless_meta: generation.is_stateless().then_some(&*shared.info_meta),
                },
            ),
        }
    }
}

/// The `_meta` of a 2026-07-28 result that carries `info`, encoded.
pub(crate) fn info_meta(info: &Value) -> Box<RawValue> {
    let meta = serde_json::json!({ META_SERVER_INFO: info });
    RawValue::from_string(meta.to_string()).expect("a JSON value encodes to JSON")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Written straight or built as JSON first, a tool's answer is the same.
    #[test]
    fn a_tool_answer_is_the_json_it_stands_for() {
        let server = crate::server::Server::builder().build();
        let shared = &server.shared;
        let id = RequestId::Number(3);
        let outputs = [
            ToolOutput::text("hi \"there\"\n"),
            ToolOutput::error("bad"),
            ToolOutput::structured(json!({"a": [1, 2]})),
        ];
        for generation in [
            Generation::Handshake("2025-11-25"),
            Generation::Stateless("2026-07-28"),
        ] {
            for output in outputs.clone() {
                let direct = Answer::Tool(output.clone()).encode(&id, generation, shared);
                let via_json = Answer::Json(output.into_result()).encode(&id, generation, shared);
                let direct: Value = serde_json::from_slice(&direct).unwrap();
                let via_json: Value = serde_json::from_slice(&via_json).unwrap();
                assert_eq!(direct, via_json);
            }
        }
    }
}
