//! Decoding a request's `params` in one pass: the seed that picks, by
//! method, typed [`CallParams`] or JSON, and the visitors that read a
//! call's members (the subject borrowed from the line, `_meta` without
//! `clientInfo`, the rest skipped unread).

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{CallKind, CallParams, Params, Read};
use crate::protocol::loose::{Loose, member_names};
use crate::protocol::mcp::META_CLIENT_INFO;

/// Reads params for a method: typed for the calls of [`CallKind`], JSON
/// otherwise. Never fails on the params' shape (the method's checks judge
/// it), only on JSON that is not valid or nests too deep.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParamsSeed {
    call: Option<CallKind>,
}

impl ParamsSeed {
    /// The seed for params of `method`.
    pub(crate) fn for_method(method: &str) -> Self {
        Self {
            call: CallKind::of_method(method),
        }
    }
}

impl<'de> DeserializeSeed<'de> for ParamsSeed {
    type Value = Params<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Params<'de>, D::Error> {
        match self.call {
            Some(kind) => d.deserialize_any(CallVisitor(kind)),
            None => serde::Deserialize::deserialize(d).map(|value| Params(Read::Json(value))),
        }
    }
}

member_names! {
    /// The members of a call's params.
    Member {
        Name = "name",
        Uri = "uri",
        Arguments = "arguments",
        Meta = "_meta",
        RequestState = "requestState",
        InputResponses = "inputResponses",
    }
}

/// A call's params: an object becomes [`CallParams`]; anything else is
/// kept as JSON for the checks to refuse.
struct CallVisitor(CallKind);

/// True if `member` is the one that names what a `kind` call calls.
fn names_subject(member: &Member, kind: CallKind) -> bool {
    matches!(
        (member, kind),
        (Member::Name, CallKind::Tool | CallKind::Prompt) | (Member::Uri, CallKind::Resource)
    )
}

/// `_meta` without its `clientInfo`.
pub(super) fn without_client_info(mut meta: Value) -> Value {
    if let Value::Object(members) = &mut meta {
        members.remove(META_CLIENT_INFO);
    }
    meta
}

/// A call's `_meta`, read as JSON, `clientInfo` skipped unread.
struct CallMeta;

impl<'de> DeserializeSeed<'de> for CallMeta {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CallMeta {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a _meta object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == META_CLIENT_INFO {
                map.next_value::<IgnoredAny>()?;
            } else {
                members.insert(key, map.next_value()?);
            }
        }
        Ok(Value::Object(members))
    }

    // Not an object: kept as it is, for the checks to judge.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        serde::Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// A present `null` reads as absent.
#[inline]
pub(crate) fn non_null(value: Value) -> Option<Value> {
    Some(value).filter(|v| !v.is_null())
}

impl<'de> Visitor<'de> for CallVisitor {
    type Value = Params<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} params", self.0.method())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let kind = self.0;
        let mut call = CallParams::new(kind);
        while let Some(member) = map.next_key::<Member>()? {
            match member {
                Member::Name | Member::Uri if names_subject(&member, kind) => {
                    call.subject = match map.next_value::<Loose<'de>>()? {
                        Loose::Str(subject) => Some(subject),
                        Loose::Int(_) | Loose::Other => None,
                    };
                }
                Member::Arguments if kind.takes_arguments() => call.arguments = non_null(map.next_value()?),
                Member::Meta => call.meta = non_null(map.next_value_seed(CallMeta)?),
                Member::RequestState => call.request_state = non_null(map.next_value()?),
                Member::InputResponses => call.input_responses = non_null(map.next_value()?),
                Member::Name | Member::Uri | Member::Arguments | Member::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Params(Read::Call(call)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Params(Read::Json(Value::Array(items))))
    }

    // A scalar: kept, for the envelope's check to refuse.
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Params(Read::Json(Value::Bool(v))))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Params(Read::Json(Value::from(v))))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Params(Read::Json(Value::from(v))))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Params(Read::Json(Value::from(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Params(Read::Json(Value::from(v))))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Params(Read::Json(Value::Null)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::borrow::Cow;

    fn read<'a>(method: &str, text: &'a str) -> Params<'a> {
        let mut d = serde_json::Deserializer::from_str(text);
        ParamsSeed::for_method(method).deserialize(&mut d).unwrap()
    }

    #[test]
    fn tool_call_params_are_typed_and_borrowed() {
        let text = r#"{"name":"echo","arguments":{"text":"hi"},"other":[1],"_meta":{"progressToken":3}}"#;
        let params = read("tools/call", text);
        assert_eq!(params.str_member("name"), Some("echo"));
        assert_eq!(params.meta(), Some(&json!({"progressToken": 3})));
        assert_eq!(params.arguments(), Some(&json!({"text": "hi"})));
        let call = params.into_call(CallKind::Tool).unwrap();
        assert!(matches!(call.subject, Cow::Borrowed("echo")));
        // An escaped name is read, owned.
        let call = read("tools/call", r#"{"name":"e\u0063ho"}"#)
            .into_call(CallKind::Tool)
            .unwrap();
        assert_eq!(call.subject, "echo");
    }

    #[test]
    fn prompt_and_resource_params_are_typed_by_their_own_members() {
        let text = r#"{"name":"p","uri":"file:///x","arguments":{"a":"1"},"_meta":{"k":1}}"#;
        let prompt = read("prompts/get", text).into_call(CallKind::Prompt).unwrap();
        assert!(matches!(prompt.subject, Cow::Borrowed("p")));
        assert_eq!(prompt.rest.arguments, Some(json!({"a": "1"})));
        assert_eq!(prompt.rest.meta, Some(json!({"k": 1})));
        // resources/read is named by its uri and takes no arguments.
        let params = read("resources/read", text);
        assert_eq!(params.str_member("uri"), Some("file:///x"));
        assert_eq!(params.str_member("name"), None);
        assert_eq!(params.arguments(), None);
        let resource = params.into_call(CallKind::Resource).unwrap();
        assert_eq!(resource.subject, "file:///x");
        for (method, kind, text, message) in [
            (
                "resources/read",
                CallKind::Resource,
                r#"{"name":"x"}"#,
                "resources/read: uri (string) is required",
            ),
            (
                "prompts/get",
                CallKind::Prompt,
                r#"{"uri":"x"}"#,
                "prompts/get: name (string) is required",
            ),
            (
                "prompts/get",
                CallKind::Prompt,
                "[]",
                "prompts/get: params must be an object",
            ),
        ] {
            let error = read(method, text).into_call(kind).unwrap_err();
            assert_eq!(error.message, message, "{text}");
        }
    }

    #[test]
    fn a_tool_call_of_another_shape_gets_the_usual_errors() {
        for (text, message) in [
            (r#"{"arguments":{}}"#, "tools/call: name (string) is required"),
            (r#"{"name":7}"#, "tools/call: name (string) is required"),
            ("[1]", "tools/call: params must be an object"),
        ] {
            let error = read("tools/call", text).into_call(CallKind::Tool).unwrap_err();
            assert_eq!(error.message, message, "{text}");
        }
        // A duplicate member: JSON keeps the last one, and so does this.
        let call = read("tools/call", r#"{"name":"a","name":"b"}"#)
            .into_call(CallKind::Tool)
            .unwrap();
        assert_eq!(call.subject, "b");
        assert!(!read("tools/call", "3").is_structured());
    }

    #[test]
    fn other_methods_read_json_and_too_deep_is_an_error() {
        let params = read("tools/list", r#"{"cursor":"abc","_meta":{}}"#);
        assert_eq!(params.str_member("cursor"), Some("abc"));
        assert_eq!(params.meta(), Some(&json!({})));
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for method in ["tools/list", "tools/call", "resources/read"] {
            let mut d = serde_json::Deserializer::from_str(&deep);
            assert!(ParamsSeed::for_method(method).deserialize(&mut d).is_err());
        }
        assert!(!Params::absent().is_present());
    }

    #[test]
    fn a_calls_meta_is_read_without_client_info() {
        let text = r#"{"name":"echo","_meta":{"progressToken":1,"io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"},"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}"#;
        let want = json!({"progressToken": 1, "io.modelcontextprotocol/protocolVersion": "2026-07-28"});
        for method in ["tools/call", "prompts/get", "resources/read"] {
            assert_eq!(read(method, text).meta(), Some(&want), "{method}");
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(
                Params::from_value(method, Some(value)).meta(),
                Some(&want),
                "{method}"
            );
        }
        // Other methods keep their `_meta` whole; a `_meta` that is not an
        // object is kept as it is.
        let whole: Value = serde_json::from_str(text).unwrap();
        assert_eq!(read("tools/list", text).meta(), whole.get("_meta"));
        assert_eq!(
            read("tools/call", r#"{"_meta":[1,{"a":2}]}"#).meta(),
            Some(&json!([1, {"a": 2}]))
        );
        assert_eq!(read("tools/call", r#"{"_meta":"x"}"#).meta(), Some(&json!("x")));
    }

    #[test]
    fn from_value_matches_a_read_line() {
        let value = json!({"name": "echo", "uri": "a:b", "arguments": {"text": "x"}, "requestState": null});
        let text = value.to_string();
        for method in ["tools/call", "prompts/get", "resources/read", "ping"] {
            assert_eq!(
                read(method, &text),
                Params::from_value(method, Some(value.clone())),
                "{method}"
            );
        }
    }
}
