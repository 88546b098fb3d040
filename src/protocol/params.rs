//! A request's `params`, read once and only as far as its method needs.
//!
//! The calls servers answer most often (`tools/call`, `prompts/get`,
//! `resources/read`) are read into typed fields ([`CallParams`]): the name
//! or URI is borrowed from the line, members the server does not use are
//! skipped, and only `arguments` (which a handler takes as JSON) and the
//! rarer `_meta`, `requestState` and `inputResponses` become [`Value`]s.
//! Every other method's params become one [`Value`]. Pure: no I/O.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::error_object::ErrorObject;
use super::loose::{Loose, member_names};
use super::mcp::META_CLIENT_INFO;

/// The params of one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Params<'a>(Read<'a>);

#[derive(Debug, Clone, PartialEq)]
enum Read<'a> {
    Absent,
    Call(CallParams<'a>),
    Json(Value),
}

/// A call whose params are read typed, and the member that names what it
/// calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// `tools/call`: `name`, `arguments`.
    Tool,
    /// `prompts/get`: `name`, `arguments`.
    Prompt,
    /// `resources/read`: `uri`.
    Resource,
}

impl CallKind {
    /// The kind of call `method` is, if its params are read typed.
    pub fn of_method(method: &str) -> Option<Self> {
        match method {
            "tools/call" => Some(Self::Tool),
            "prompts/get" => Some(Self::Prompt),
            "resources/read" => Some(Self::Resource),
            _ => None,
        }
    }

    /// The method.
    pub fn method(self) -> &'static str {
        match self {
            Self::Tool => "tools/call",
            Self::Prompt => "prompts/get",
            Self::Resource => "resources/read",
        }
    }

    /// The member that names what is called: `name` or `uri`.
    pub fn subject_key(self) -> &'static str {
        match self {
            Self::Tool | Self::Prompt => "name",
            Self::Resource => "uri",
        }
    }

    /// True if the call takes `arguments`.
    pub fn takes_arguments(self) -> bool {
        !matches!(self, Self::Resource)
    }
}

/// The members of a call's params that the server reads.
#[derive(Debug, Clone, PartialEq)]
pub struct CallParams<'a> {
    /// Which call.
    pub kind: CallKind,
    /// The name or URI (`None` when absent or not a string).
    pub subject: Option<Cow<'a, str>>,
    /// The arguments (`None` when absent or `null`, and for
    /// `resources/read`).
    pub arguments: Option<Value>,
    /// `_meta` (progress token, 2026-07-28 version and capabilities, ...),
    /// without `io.modelcontextprotocol/clientInfo`, which the server does
    /// not read (a 2026-07-28 client sends it with every call).
    pub meta: Option<Value>,
    /// `requestState` (2026-07-28 multi-round-trip).
    pub request_state: Option<Value>,
    /// `inputResponses` (2026-07-28 multi-round-trip).
    pub input_responses: Option<Value>,
}

/// A call whose name or URI is known.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedCall<'a> {
    /// The name or URI.
    pub subject: Cow<'a, str>,
    /// The other members.
    pub rest: CallParams<'a>,
}

impl<'a> Params<'a> {
    /// No params.
    pub fn absent() -> Self {
        Self(Read::Absent)
    }

    /// A call's params, read typed.
    pub(crate) fn call(call: CallParams<'a>) -> Self {
        Self(Read::Call(call))
    }

    /// Params read as JSON (any method but the calls of [`CallKind`]).
    pub(crate) fn json(value: Value) -> Self {
        Self(Read::Json(value))
    }

    /// Params given as JSON, read for `method` as a line would be.
    pub fn from_value(method: &str, params: Option<Value>) -> Self {
        match (params, CallKind::of_method(method)) {
            (None, _) => Self::absent(),
            (Some(Value::Object(map)), Some(kind)) => Self(Read::Call(CallParams::from_map(kind, map))),
            (Some(value), _) => Self(Read::Json(value)),
        }
    }

    /// The same params, owning what they borrowed.
    pub fn into_owned(self) -> Params<'static> {
        Params(match self.0 {
            Read::Absent => Read::Absent,
            Read::Json(value) => Read::Json(value),
            Read::Call(call) => Read::Call(CallParams {
                kind: call.kind,
                subject: call.subject.map(|subject| Cow::Owned(subject.into_owned())),
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
            Read::Call(_) => true,
            Read::Json(value) => value.is_object() || value.is_array(),
        }
    }

    /// `_meta`, if present.
    pub fn meta(&self) -> Option<&Value> {
        match &self.0 {
            Read::Absent => None,
            Read::Call(call) => call.meta.as_ref(),
            Read::Json(value) => value.get("_meta"),
        }
    }

    /// The string member `key` (`name`, `uri`, ...), if it is one.
    pub fn str_member(&self, key: &str) -> Option<&str> {
        match &self.0 {
            Read::Absent => None,
            Read::Call(call) if key == call.kind.subject_key() => call.subject.as_deref(),
            Read::Call(_) => None,
            Read::Json(value) => value.get(key).and_then(Value::as_str),
        }
    }

    /// `arguments`, if present and not `null`.
    pub fn arguments(&self) -> Option<&Value> {
        match &self.0 {
            Read::Absent => None,
            Read::Call(call) => call.arguments.as_ref(),
            Read::Json(value) => value.get("arguments").filter(|v| !v.is_null()),
        }
    }

    /// The params as one JSON value: for a call read typed, the members
    /// the server reads (others were skipped).
    pub fn into_value(self) -> Option<Value> {
        match self.0 {
            Read::Absent => None,
            Read::Json(value) => Some(value),
            Read::Call(call) => Some(call.into_value()),
        }
    }

    /// The params of a `kind` call, typed.
    ///
    /// # Errors
    ///
    /// -32602 when they are absent, not an object, or without a string
    /// name (`uri` for `resources/read`).
    pub fn into_call(self, kind: CallKind) -> Result<NamedCall<'a>, ErrorObject> {
        let method = kind.method();
        let mut call = match self.0 {
            Read::Call(call) if call.kind == kind => call,
            Read::Call(call) => CallParams::from_map(kind, into_map(call.into_value())),
            Read::Json(Value::Object(map)) => CallParams::from_map(kind, map),
            Read::Absent | Read::Json(_) => {
                return Err(ErrorObject::invalid_params(format!(
                    "{method}: params must be an object"
                )));
            }
        };
        match call.subject.take() {
            Some(subject) => Ok(NamedCall { subject, rest: call }),
            None => Err(ErrorObject::invalid_params(format!(
                "{method}: {} (string) is required",
                kind.subject_key()
            ))),
        }
    }
}

fn into_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

impl CallParams<'_> {
    pub(crate) fn new(kind: CallKind) -> Self {
        Self {
            kind,
            subject: None,
            arguments: None,
            meta: None,
            request_state: None,
            input_responses: None,
        }
    }

    fn from_map(kind: CallKind, mut map: Map<String, Value>) -> CallParams<'static> {
        let mut take = |key: &str| map.remove(key).filter(|v| !v.is_null());
        CallParams {
            kind,
            subject: match take(kind.subject_key()) {
                Some(Value::String(subject)) => Some(Cow::Owned(subject)),
                _ => None,
            },
            arguments: take("arguments").filter(|_| kind.takes_arguments()),
            meta: take("_meta").map(without_client_info),
            request_state: take("requestState"),
            input_responses: take("inputResponses"),
        }
    }

    fn into_value(self) -> Value {
        let mut map = Map::new();
        if let Some(subject) = self.subject {
            map.insert(
                self.kind.subject_key().to_owned(),
                Value::String(subject.into_owned()),
            );
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
fn without_client_info(mut meta: Value) -> Value {
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
