//! A request's `params`, read once and only as far as its method needs.
//!
//! `tools/call`, the call most servers answer most often, is read into
//! typed fields ([`ToolCall`]): its name is borrowed from the line, members
//! the server does not use are skipped, and only `arguments` (which a tool
//! handler takes as JSON) and the rarer `_meta`, `requestState` and
//! `inputResponses` become [`Value`]s. Every other method's params become
//! one [`Value`]. Pure: no I/O.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::envelope::{Loose, member_names};
use super::jsonrpc::ErrorObject;

/// The params of one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Params<'a>(Read<'a>);

#[derive(Debug, Clone, PartialEq)]
enum Read<'a> {
    Absent,
    ToolCall(ToolCall<'a>),
    Json(Value),
}

/// The members of `tools/call` params that the server reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ToolCall<'a> {
    /// The tool's name (`None` when absent or not a string).
    pub name: Option<Cow<'a, str>>,
    /// The arguments (`None` when absent or `null`).
    pub arguments: Option<Value>,
    /// `_meta` (progress token, 2026-07-28 version and capabilities, ...).
    pub meta: Option<Value>,
    /// `requestState` (2026-07-28 multi-round-trip).
    pub request_state: Option<Value>,
    /// `inputResponses` (2026-07-28 multi-round-trip).
    pub input_responses: Option<Value>,
}

/// A `tools/call` whose name is known.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedToolCall<'a> {
    /// The tool's name.
    pub name: Cow<'a, str>,
    /// The other members.
    pub rest: ToolCall<'a>,
}

impl<'a> Params<'a> {
    /// No params.
    pub fn absent() -> Self {
        Self(Read::Absent)
    }

    /// Params given as JSON, read for `method` as a line would be.
    pub fn from_value(method: &str, params: Option<Value>) -> Self {
        match params {
            None => Self::absent(),
            Some(Value::Object(map)) if method == "tools/call" => {
                Self(Read::ToolCall(ToolCall::from_map(map)))
            }
            Some(value) => Self(Read::Json(value)),
        }
    }

    /// The same params, owning what they borrowed.
    pub fn into_owned(self) -> Params<'static> {
        Params(match self.0 {
            Read::Absent => Read::Absent,
            Read::Json(value) => Read::Json(value),
            Read::ToolCall(call) => Read::ToolCall(ToolCall {
                name: call.name.map(|name| Cow::Owned(name.into_owned())),
                arguments: call.arguments,
                meta: call.meta,
                request_state: call.request_state,
                input_responses: call.input_responses,
            }),
        })
    }

    /// True when the message had params.
    pub fn is_present(&self) -> bool {
        !matches!(self.0, Read::Absent)
    }

    /// True when they are an object or an array (what JSON-RPC allows).
    pub fn is_structured(&self) -> bool {
        match &self.0 {
            Read::Absent => false,
            Read::ToolCall(_) => true,
            Read::Json(value) => value.is_object() || value.is_array(),
        }
    }

    /// `_meta`, if present.
    pub fn meta(&self) -> Option<&Value> {
        match &self.0 {
            Read::Absent => None,
            Read::ToolCall(call) => call.meta.as_ref(),
            Read::Json(value) => value.get("_meta"),
        }
    }

    /// The string member `key` (`name`, `uri`, ...), if it is one.
    pub fn str_member(&self, key: &str) -> Option<&str> {
        match &self.0 {
            Read::Absent => None,
            Read::ToolCall(call) if key == "name" => call.name.as_deref(),
            Read::ToolCall(_) => None,
            Read::Json(value) => value.get(key).and_then(Value::as_str),
        }
    }

    /// `arguments`, if present and not `null`.
    pub fn arguments(&self) -> Option<&Value> {
        match &self.0 {
            Read::Absent => None,
            Read::ToolCall(call) => call.arguments.as_ref(),
            Read::Json(value) => value.get("arguments").filter(|v| !v.is_null()),
        }
    }

    /// The params as one JSON value: for `tools/call`, the members the
    /// server reads (others were skipped).
    pub fn into_value(self) -> Option<Value> {
        match self.0 {
            Read::Absent => None,
            Read::Json(value) => Some(value),
            Read::ToolCall(call) => Some(call.into_value()),
        }
    }

    /// `tools/call` params in typed form.
    ///
    /// # Errors
    ///
    /// -32602 when they are absent, not an object, or without a string `name`.
    pub fn into_tool_call(self) -> Result<NamedToolCall<'a>, ErrorObject> {
        let mut call = match self.0 {
            Read::ToolCall(call) => call,
            Read::Json(Value::Object(map)) => ToolCall::from_map(map),
            Read::Absent | Read::Json(_) => {
                return Err(ErrorObject::invalid_params(
                    "tools/call: params must be an object",
                ));
            }
        };
        match call.name.take() {
            Some(name) => Ok(NamedToolCall { name, rest: call }),
            None => Err(ErrorObject::invalid_params(
                "tools/call: name (string) is required",
            )),
        }
    }
}

impl ToolCall<'_> {
    fn from_map(mut map: Map<String, Value>) -> ToolCall<'static> {
        let mut take = |key: &str| map.remove(key).filter(|v| !v.is_null());
        ToolCall {
            name: match take("name") {
                Some(Value::String(name)) => Some(Cow::Owned(name)),
                _ => None,
            },
            arguments: take("arguments"),
            meta: take("_meta"),
            request_state: take("requestState"),
            input_responses: take("inputResponses"),
        }
    }

    fn into_value(self) -> Value {
        let mut map = Map::new();
        if let Some(name) = self.name {
            map.insert("name".to_owned(), Value::String(name.into_owned()));
        }
        let members = [
            ("arguments", self.arguments),
            ("_meta", self.meta),
            ("requestState", self.request_state),
            ("inputResponses", self.input_responses),
        ];
        for (key, value) in members {
            if let Some(value) = value {
                map.insert(key.to_owned(), value);
            }
        }
        Value::Object(map)
    }
}

/// Reads params for a method: typed for `tools/call`, JSON otherwise.
/// Never fails on the params' shape (the method's checks judge it), only on
/// JSON that is not valid or nests too deep.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParamsSeed {
    tool_call: bool,
}

impl ParamsSeed {
    /// The seed for params of `method`.
    pub(crate) fn for_method(method: &str) -> Self {
        Self {
            tool_call: method == "tools/call",
        }
    }
}

impl<'de> DeserializeSeed<'de> for ParamsSeed {
    type Value = Params<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Params<'de>, D::Error> {
        if self.tool_call {
            d.deserialize_any(ToolCallVisitor)
        } else {
            serde::Deserialize::deserialize(d).map(|value| Params(Read::Json(value)))
        }
    }
}

member_names! {
    /// The members of `tools/call` params.
    Member {
        Name = "name",
        Arguments = "arguments",
        Meta = "_meta",
        RequestState = "requestState",
        InputResponses = "inputResponses",
    }
}

/// `tools/call` params: an object becomes a [`ToolCall`]; anything else is
/// kept as JSON for the checks to refuse.
struct ToolCallVisitor;

/// A present `null` reads as absent.
fn non_null(value: Value) -> Option<Value> {
    Some(value).filter(|v| !v.is_null())
}

impl<'de> Visitor<'de> for ToolCallVisitor {
    type Value = Params<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tools/call params")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut call = ToolCall::default();
        while let Some(member) = map.next_key::<Member>()? {
            match member {
                Member::Name => {
                    call.name = match map.next_value::<Loose<'de>>()? {
                        Loose::Str(name) => Some(name),
                        Loose::Int(_) | Loose::Other => None,
                    };
                }
                Member::Arguments => call.arguments = non_null(map.next_value()?),
                Member::Meta => call.meta = non_null(map.next_value()?),
                Member::RequestState => call.request_state = non_null(map.next_value()?),
                Member::InputResponses => call.input_responses = non_null(map.next_value()?),
                Member::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Params(Read::ToolCall(call)))
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
        let call = params.into_tool_call().unwrap();
        assert!(matches!(call.name, Cow::Borrowed("echo")));
        // An escaped name is read, owned.
        let call = read("tools/call", r#"{"name":"e\u0063ho"}"#)
            .into_tool_call()
            .unwrap();
        assert_eq!(call.name, "echo");
    }

    #[test]
    fn a_tool_call_of_another_shape_gets_the_usual_errors() {
        for (text, message) in [
            (r#"{"arguments":{}}"#, "tools/call: name (string) is required"),
            (r#"{"name":7}"#, "tools/call: name (string) is required"),
            ("[1]", "tools/call: params must be an object"),
        ] {
            let error = read("tools/call", text).into_tool_call().unwrap_err();
            assert_eq!(error.message, message, "{text}");
        }
        // A duplicate member: JSON keeps the last one, and so does this.
        let call = read("tools/call", r#"{"name":"a","name":"b"}"#)
            .into_tool_call()
            .unwrap();
        assert_eq!(call.name, "b");
        assert!(!read("tools/call", "3").is_structured());
    }

    #[test]
    fn other_methods_read_json_and_too_deep_is_an_error() {
        let params = read("resources/read", r#"{"uri":"file:///a","_meta":{}}"#);
        assert_eq!(params.str_member("uri"), Some("file:///a"));
        assert_eq!(params.meta(), Some(&json!({})));
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for method in ["resources/read", "tools/call"] {
            let mut d = serde_json::Deserializer::from_str(&deep);
            assert!(ParamsSeed::for_method(method).deserialize(&mut d).is_err());
        }
        assert!(!Params::absent().is_present());
    }

    #[test]
    fn from_value_matches_a_read_line() {
        let value = json!({"name": "echo", "arguments": {"text": "x"}, "requestState": null});
        let text = value.to_string();
        assert_eq!(
            read("tools/call", &text),
            Params::from_value("tools/call", Some(value))
        );
    }
}
