//! What a request's result is, and how it is written into its answer: a
//! tool's output straight from its fields, a list's page from its items
//! encoded before, any other result from the JSON its handler built.

use bytes::Bytes;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use serde_json::value::RawValue;

use super::Shared;
use super::catalog::pages::Page;
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
    /// A page of a list (`tools/list`, ...).
    Page(Page),
}

impl Answer {
    /// The result as JSON, as a 2025 session would get it (a task keeps it
    /// so).
    pub(crate) fn into_value(self) -> Value {
        match self {
            Self::Json(value) => value,
            Self::Tool(output) => output.into_result(),
            Self::Page(page) => page.to_value(),
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
            Self::Page(page) => encode_result_of(
                id,
                &PageResult {
                    page: &page,
                    stateless: generation.is_stateless().then(|| {
                        let ttl_ms = shared.config.list_cache_ttl.as_millis() as u64;
                        (ttl_ms, &*shared.info_meta)
                    }),
                },
            ),
        }
    }
}

/// A list's page written into its answer; a 2026-07-28 one carries the
/// caching directives (public: a list does not depend on who asks),
/// `resultType` and the server's info (what `cacheable` and
/// `finish_result` add to a result built as JSON).
struct PageResult<'a> {
    page: &'a Page,
    /// The time to live in milliseconds and the `_meta`, for 2026-07-28.
    stateless: Option<(u64, &'a RawValue)>,
}

impl Serialize for PageResult<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut result = serializer.serialize_map(None)?;
        result.serialize_entry(self.page.kind.key(), &*self.page.items)?;
        if let Some(next) = &self.page.next {
            result.serialize_entry("nextCursor", next)?;
        }
        if let Some((ttl_ms, meta)) = self.stateless {
            result.serialize_entry("ttlMs", &ttl_ms)?;
            result.serialize_entry("cacheScope", "public")?;
            result.serialize_entry("resultType", "complete")?;
            result.serialize_entry("_meta", meta)?;
        }
        result.end()
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

    /// A list's page written from its encoded items is the JSON that
    /// `cacheable` and `finish_result` make of it.
    #[test]
    fn a_page_answer_is_the_json_it_stands_for() {
        use crate::protocol::mcp::cacheable;
        use crate::server::catalog::pages::{ListKind, Page};
        let server = crate::server::Server::builder().builtin_tools().build();
        let shared = &server.shared;
        let id = RequestId::Number(4);
        let ttl = shared.config.list_cache_ttl.as_millis() as u64;
        let items = RawValue::from_string(r#"[{"name":"a"}]"#.to_owned()).unwrap();
        for next in [None, Some("Yzox".to_owned())] {
            let page = Page {
                kind: ListKind::Tools,
                items: crate::sync::Arc::from(items.clone()),
                next,
            };
            for generation in [
                Generation::Handshake("2025-11-25"),
                Generation::Stateless("2026-07-28"),
            ] {
                let direct = Answer::Page(page.clone()).encode(&id, generation, shared);
                let direct: Value = serde_json::from_slice(&direct).unwrap();
                let built = finish_result(
                    generation,
                    cacheable(generation, page.to_value(), ttl, true),
                    &shared.info,
                );
                assert_eq!(direct["result"], built, "{generation:?}");
                assert_eq!(direct["id"], 4);
            }
        }
    }
}
