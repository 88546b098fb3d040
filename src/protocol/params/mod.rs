//! A request's `params`, read once and only as far as its method needs.
//!
//! The calls servers answer most often (`tools/call`, `prompts/get`,
//! `resources/read`) are read into typed fields ([`CallParams`]): the name
//! or URI is borrowed from the line, members the server does not use are
//! skipped, and only `arguments` (which a handler takes as JSON) and the
//! rarer `_meta`, `requestState` and `inputResponses` become [`Value`]s.
//! Every other method's params become one [`Value`]. Pure: no I/O.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::error_object::ErrorObject;

mod decode;

use decode::without_client_info;
pub(crate) use decode::{ParamsSeed, non_null};

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

    /// The member `key` of params read as JSON (not a call's, read typed).
    pub fn json_member(&self, key: &str) -> Option<&Value> {
        match &self.0 {
            Read::Json(value) => value.get(key),
            _ => None,
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
