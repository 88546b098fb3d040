//! JSON-RPC 2.0: parsing one line into a message, encoding replies.
//!
//! Pure: no I/O, no tokio. Every way a line can be wrong maps to the error
//! the JSON-RPC specification names for it.

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::envelope::{Envelope, ParamsText, read_later};
pub use super::error_object::{
    ErrorObject, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, METHOD_NOT_FOUND, NOT_INITIALIZED,
    PARSE_ERROR, REQUEST_TIMED_OUT, SERVER_AT_CAPACITY,
};
pub use super::incoming::Incoming;
use super::loose::Loose;
use super::params::Params;
pub use super::request_id::RequestId;

/// A line that is not a valid message, and what to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The id to answer with, if one could be read (else `null`).
    pub id: Option<RequestId>,
    /// The error.
    pub error: ErrorObject,
}

impl Rejection {
    fn new(id: Option<RequestId>, code: i64, message: &str) -> Self {
        Self {
            id,
            error: ErrorObject::new(code, message),
        }
    }

    /// This refusal, or -32700 if `line` nests deeper than a JSON value may
    /// (members whose type is wrong are skipped to their end without a
    /// depth limit, so a too-deep `id` would otherwise look like a wrong
    /// one).
    fn unless_too_deep(self, line: &str) -> Self {
        if self.error.code == PARSE_ERROR {
            return self;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(_) => self,
            Err(e) => parse_error(&e),
        }
    }
}

/// Parses one line into a message.
///
/// # Errors
///
/// -32700 for bytes that are not JSON (or not UTF-8, or nested too deep),
/// -32600 for JSON that is not a JSON-RPC 2.0 message (including batches,
/// which MCP does not use).
pub fn parse(line: &[u8]) -> Result<Incoming<'_>, Rejection> {
    // The whole line is checked first: serde skips members it does not
    // know without checking their strings, so invalid UTF-8 there would
    // pass (found by fuzz/jsonrpc). Parsing from `&str` then skips the
    // per-string check.
    let Ok(text) = std::str::from_utf8(line) else {
        return Err(Rejection::new(None, PARSE_ERROR, "parse error: not UTF-8"));
    };
    // Plain lines (most) are read by a scanner of their own; the rest, and
    // every line that is not a message, by serde_json, which gives each
    // refusal its code.
    match super::fast_path::parse(text) {
        Some(incoming) => Ok(incoming),
        None => parse_general(text),
    }
}

/// What the general reader makes of `text`: the message, or the refusal.
pub(crate) fn parse_general(text: &str) -> Result<Incoming<'_>, Rejection> {
    match serde_json::from_str::<Envelope<'_>>(text) {
        Ok(envelope) => message(envelope).map_err(|refusal| refusal.unless_too_deep(text)),
        // Not an object of the expected shape: find out what it is.
        Err(_) => Err(classify(text)),
    }
}

/// Why a line that is not a JSON object (or not valid JSON) is refused.
fn classify(line: &str) -> Rejection {
    match serde_json::from_str::<Value>(line) {
        Err(e) => parse_error(&e),
        Ok(Value::Array(_)) => Rejection::new(
            None,
            INVALID_REQUEST,
            "invalid request: batches are not supported",
        ),
        Ok(_) => Rejection::new(None, INVALID_REQUEST, "invalid request: expected a JSON object"),
    }
}

fn parse_error(e: &serde_json::Error) -> Rejection {
    Rejection::new(None, PARSE_ERROR, &format!("parse error: {e}"))
}

fn message(envelope: Envelope<'_>) -> Result<Incoming<'_>, Rejection> {
    let id = match envelope.id {
        None => None,
        Some(Loose::Int(n)) => Some(RequestId::Number(n)),
        Some(Loose::Str(s)) => Some(RequestId::String(s.into_owned())),
        Some(Loose::Other) => {
            return Err(Rejection::new(
                None,
                INVALID_REQUEST,
                "invalid request: id must be a string or an integer",
            ));
        }
    };
    if !matches!(&envelope.jsonrpc, Some(Loose::Str(v)) if v == "2.0") {
        return Err(Rejection::new(
            id,
            INVALID_REQUEST,
            "invalid request: jsonrpc must be \"2.0\"",
        ));
    }
    let method = match envelope.method {
        None => None,
        Some(Loose::Str(method)) => Some(method),
        Some(Loose::Int(_) | Loose::Other) => {
            return Err(Rejection::new(
                id,
                INVALID_REQUEST,
                "invalid request: method must be a string",
            ));
        }
    };
    let params = match envelope.params {
        None => Params::absent(),
        Some(ParamsText::Read(params)) => params,
        // Params before the method (or with no method): read them now.
        Some(ParamsText::Raw(raw)) => {
            read_later(method.as_deref().unwrap_or_default(), raw).map_err(|e| parse_error(&e))?
        }
    };
    if params.is_present() && !params.is_structured() {
        return Err(Rejection::new(
            id,
            INVALID_REQUEST,
            "invalid request: params must be an object or an array",
        ));
    }
    let is_response = envelope.result.is_some() || envelope.error.is_some();
    match (method, id) {
        (Some(method), Some(id)) => Ok(Incoming::Request { id, method, params }),
        (Some(method), None) => Ok(Incoming::Notification { method, params }),
        (None, Some(id)) if is_response => {
            let outcome = match (envelope.result, envelope.error) {
                (_, Some(error)) => Err(serde_json::from_value(error)
                    .unwrap_or_else(|_| ErrorObject::internal("the client sent a malformed error object"))),
                (Some(result), None) => Ok(result),
                (None, None) => unreachable!("a response has a result or an error"),
            };
            Ok(Incoming::Response { id, outcome })
        }
        (None, id) => Err(Rejection::new(
            id,
            INVALID_REQUEST,
            "invalid request: missing method",
        )),
    }
}

#[derive(Serialize)]
struct ErrorMessage<'a> {
    jsonrpc: &'static str,
    id: Option<&'a RequestId>,
    error: &'a ErrorObject,
}

#[derive(Serialize)]
struct NotificationMessage<'a> {
    jsonrpc: &'static str,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a Value>,
}

/// Room for a typical answer, so that writing one does not grow its buffer
/// step by step.
const FRAME_CAPACITY: usize = 256;

fn to_frame(message: &impl Serialize) -> Bytes {
    let mut frame = Vec::with_capacity(FRAME_CAPACITY);
    serde_json::to_writer(&mut frame, message).expect("a JSON-RPC message always serializes");
    Bytes::from(frame)
}

/// Encodes a success response.
pub fn encode_result(id: &RequestId, result: Value) -> Bytes {
    encode_result_of(id, &result)
}

/// Encodes a success response whose result is written straight from
/// `result` (no JSON tree built first).
pub fn encode_result_of(id: &RequestId, result: &impl Serialize) -> Bytes {
    encode_result_with(id, |frame| {
        serde_json::to_writer(frame, result).expect("a result always serializes");
    })
}

/// Encodes a success response whose result `write` appends to the frame
/// (one JSON value), after the envelope's members written as they always
/// read.
pub fn encode_result_with(id: &RequestId, write: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    let mut frame = Vec::with_capacity(FRAME_CAPACITY);
    frame.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    serde_json::to_writer(&mut frame, id).expect("an id always serializes");
    frame.extend_from_slice(br#","result":"#);
    write(&mut frame);
    frame.push(b'}');
    Bytes::from(frame)
}

/// Encodes an error response (`id: null` when the id is unknown).
pub fn encode_error(id: Option<&RequestId>, error: &ErrorObject) -> Bytes {
    to_frame(&ErrorMessage {
        jsonrpc: "2.0",
        id,
        error,
    })
}

/// Encodes a request (one the server sends to a client).
pub fn encode_request(id: &RequestId, method: &str, params: Value) -> Bytes {
    let message = serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    Bytes::from(serde_json::to_vec(&message).expect("a JSON value serializes"))
}

/// Encodes a notification.
pub fn encode_notification(method: &str, params: Option<Value>) -> Bytes {
    to_frame(&NotificationMessage {
        jsonrpc: "2.0",
        method,
        params: params.as_ref(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(line: &str) -> i64 {
        parse(line.as_bytes()).expect_err("should be rejected").error.code
    }

    #[test]
    fn parses_each_kind() {
        assert!(matches!(
            parse(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            Ok(Incoming::Request {
                id: RequestId::Number(1),
                ..
            })
        ));
        assert!(matches!(
            parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Ok(Incoming::Notification { .. })
        ));
        assert!(matches!(
            parse(br#"{"jsonrpc":"2.0","id":"a","result":{}}"#),
            Ok(Incoming::Response { .. })
        ));
    }

    #[test]
    fn rejects_with_the_spec_codes() {
        assert_eq!(code("{not json"), PARSE_ERROR);
        // Invalid UTF-8 in a member nobody reads is still not JSON.
        let mut line = br#"{"jsonrpc":"2.0","id":1,"method":"x","other":""#.to_vec();
        line.extend_from_slice(b"\xff\"}");
        assert_eq!(parse(&line).unwrap_err().error.code, PARSE_ERROR);
        assert_eq!(code("[1,2]"), INVALID_REQUEST);
        assert_eq!(code("42"), INVALID_REQUEST);
        assert_eq!(code(r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#), INVALID_REQUEST);
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#),
            INVALID_REQUEST
        );
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1,"method":7}"#), INVALID_REQUEST);
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#),
            INVALID_REQUEST
        );
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1}"#), INVALID_REQUEST);
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":null,"method":"x"}"#),
            INVALID_REQUEST
        );
        let r = parse(br#"{"jsonrpc":2,"id":1,"method":"x"}"#).unwrap_err();
        assert_eq!(
            (r.error.code, r.id),
            (INVALID_REQUEST, Some(RequestId::Number(1)))
        );
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1,"method":"x""#), PARSE_ERROR);
    }

    #[test]
    fn encodes_members_in_the_usual_order() {
        let frame = encode_result(&RequestId::Number(7), Value::from(true));
        assert_eq!(&frame[..], br#"{"jsonrpc":"2.0","id":7,"result":true}"#);
        let frame = encode_notification("notifications/initialized", None);
        assert_eq!(
            &frame[..],
            br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#
        );
    }

    #[test]
    fn keeps_the_id_when_it_can() {
        let r = parse(br#"{"jsonrpc":"1.0","id":"x","method":"m"}"#).unwrap_err();
        assert_eq!(r.id, Some(RequestId::String("x".into())));
        let bytes = encode_error(r.id.as_ref(), &r.error);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["id"], "x");
        assert_eq!(v["error"]["code"], INVALID_REQUEST);
    }

    #[test]
    fn params_are_read_for_their_method_in_any_member_order() {
        let before = parse(
            br#"{"params":{"name":"echo","arguments":{"a":1}},"id":1,"method":"tools/call","jsonrpc":"2.0"}"#,
        );
        let after = parse(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":1}}}"#,
        );
        assert_eq!(before, after);
        let Ok(Incoming::Request { params, .. }) = after else {
            panic!()
        };
        assert_eq!(params.str_member("name"), Some("echo"));
        // An escaped method is read like any string.
        let Ok(Incoming::Request { method, .. }) = parse(br#"{"jsonrpc":"2.0","id":1,"method":"p\u0069ng"}"#)
        else {
            panic!()
        };
        assert_eq!(method, "ping");
        // Params read for one method cannot serve a second one.
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"},"method":"ping"}"#),
            INVALID_REQUEST
        );
        // A member too deep to be a JSON value is a parse error wherever it is.
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        for line in [
            format!(r#"{{"jsonrpc":"2.0","id":{deep},"method":"x"}}"#),
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"x","params":{{"a":{deep}}}}}"#),
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"arguments":{deep}}}}}"#),
        ] {
            assert_eq!(code(&line), PARSE_ERROR, "{line}");
        }
    }

    #[test]
    fn invalid_utf8_is_a_parse_error() {
        assert_eq!(parse(b"\xff\xfe").unwrap_err().error.code, PARSE_ERROR);
    }
}
