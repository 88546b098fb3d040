//! What a request's result is, and how it is written into its answer:
//! straight from the typed result (a tool's output, a list's page of items
//! encoded before, a resource's contents, a prompt's messages), or from
//! the JSON a handler built.

use bytes::Bytes;
use serde_json::Value;

use serde_json::value::RawValue;

use crate::protocol::jsonrpc::{RequestId, encode_result, encode_result_with};
use crate::protocol::mcp::{Generation, META_SERVER_INFO, finish_result};
use crate::protocol::result::{ResultMembers, Stateless, finish, put};
use crate::server::Shared;
use crate::server::api::catalog::pages::Page;
use crate::server::api::catalog::prompts::PromptOutput;
use crate::server::api::content::ResourceContents;
use crate::server::api::tools::ToolOutput;

/// The result of a request that succeeded.
#[derive(Debug)]
pub(crate) enum Answer {
    /// A result built as JSON (`completion/complete`, ...).
    Json(Value),
    /// A result sent exactly as it is, in either generation (`tasks/*`,
    /// a task's creation).
    Plain(Value),
    /// A tool's output (`tools/call`).
    Tool(ToolOutput),
    /// A page of a list (`tools/list`, ...).
    Page(Page),
    /// A resource's contents (`resources/read`).
    Contents(Contents),
    /// A prompt's messages (`prompts/get`).
    Prompt(PromptOutput),
}

/// The contents of a `resources/read`.
#[derive(Debug)]
pub(crate) struct Contents(pub(crate) Vec<ResourceContents>);

impl ResultMembers for Contents {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#""contents":"#);
        put(out, &self.0);
    }

    /// Contents may differ by who reads them.
    fn cache_scope(&self) -> Option<bool> {
        Some(false)
    }
}

impl Answer {
    /// The result as JSON, as a 2025 session would get it (a task keeps it
    /// so).
    pub(crate) fn into_value(self) -> Value {
        match self {
            Self::Json(value) | Self::Plain(value) => value,
            Self::Tool(output) => output.into_result(),
            Self::Page(page) => page.to_value(),
            Self::Contents(contents) => contents.to_value(),
            Self::Prompt(output) => output.to_value(),
        }
    }

    /// The success response to `id`, for a request of `generation` (a
    /// 2026-07-28 one carries `resultType` and the server's info).
    pub(crate) fn encode(self, id: &RequestId, generation: Generation, shared: &Shared) -> Bytes {
        let stateless = generation.is_stateless().then_some(Stateless {
            ttl_ms: shared.config.list_cache_ttl.as_millis() as u64,
            meta: &shared.info_meta,
        });
        match self {
            Self::Json(value) => encode_result(id, finish_result(generation, value, &shared.info)),
            Self::Plain(value) => encode_result(id, value),
            Self::Tool(output) => finished(id, &output, stateless),
            Self::Page(page) => finished(id, &page, stateless),
            Self::Contents(contents) => finished(id, &contents, stateless),
            Self::Prompt(output) => finished(id, &output, stateless),
        }
    }
}

fn finished(id: &RequestId, members: &impl ResultMembers, stateless: Option<Stateless<'_>>) -> Bytes {
    encode_result_with(id, |out| finish(out, members, stateless))
}

/// The `_meta` of a 2026-07-28 result that carries `info`, encoded.
pub(crate) fn info_meta(info: &Value) -> Box<RawValue> {
    let meta = serde_json::json!({ META_SERVER_INFO: info });
    RawValue::from_string(meta.to_string()).expect("a JSON value encodes to JSON")
}

#[cfg(test)]
#[cfg(not(shuttle))]
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

    /// A list's page, a resource's contents and a prompt's messages,
    /// written straight, are the JSON results they stand for: what
    /// `cacheable` and `finish_result` make of the 2025 result.
    #[test]
    fn typed_answers_are_the_json_they_stand_for() {
        use crate::protocol::mcp::cacheable;
        use crate::server::Content;
        use crate::server::api::catalog::pages::{ListKind, Page};
        let server = crate::server::Server::builder().builtin_tools().build();
        let shared = &server.shared;
        let id = RequestId::Number(4);
        let ttl = shared.config.list_cache_ttl.as_millis() as u64;
        let items = RawValue::from_string(r#"[{"name":"a"}]"#.to_owned()).unwrap();
        let page = |next: Option<&str>| Page {
            kind: ListKind::Tools,
            items: crate::sync::Arc::from(items.clone()),
            next: next.map(str::to_owned),
            for_anyone: true,
        };
        let contents = || {
            Contents(vec![
                ResourceContents::text("a://t", "hi").mime_type("text/plain"),
                ResourceContents::blob("a://b", "AA=="),
            ])
        };
        let prompt = || {
            PromptOutput::new()
                .user(Content::text("q"))
                .assistant(Content::image("AA==", "image/png"))
                .description("d")
        };
        type Case<'a> = (Box<dyn Fn() -> Answer + 'a>, Value, Option<bool>);
        let cases: Vec<Case> = vec![
            (
                Box::new(move || Answer::Page(page(None))),
                json!({"tools": [{"name": "a"}]}),
                Some(true),
            ),
            (
                Box::new(move || Answer::Page(page(Some("Yzox")))),
                json!({"tools": [{"name": "a"}], "nextCursor": "Yzox"}),
                Some(true),
            ),
            (
                Box::new(move || Answer::Contents(contents())),
                json!({"contents": [
                    {"uri": "a://t", "text": "hi", "mimeType": "text/plain"},
                    {"uri": "a://b", "blob": "AA=="},
                ]}),
                Some(false),
            ),
            (
                Box::new(move || Answer::Prompt(prompt())),
                json!({"description": "d", "messages": [
                    {"role": "user", "content": {"type": "text", "text": "q"}},
                    {"role": "assistant", "content": {"type": "image", "data": "AA==", "mimeType": "image/png"}},
                ]}),
                None,
            ),
        ];
        for (answer, want, scope) in cases {
            assert_eq!(answer().into_value(), want);
            for generation in [
                Generation::Handshake("2025-11-25"),
                Generation::Stateless("2026-07-28"),
            ] {
                let direct: Value =
                    serde_json::from_slice(&answer().encode(&id, generation, shared)).unwrap();
                let mut built = want.clone();
                if let Some(public) = scope {
                    built = cacheable(generation, built, ttl, public);
                }
                let built = finish_result(generation, built, &shared.info);
                assert_eq!(direct["result"], built, "{generation:?}");
                assert_eq!(direct["id"], 4);
            }
        }
    }
}
