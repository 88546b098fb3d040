//! The JSON-RPC parser and classifier: any bytes get either a message or
//! the error the spec names, with the id when one could be read; whatever
//! the answer, it encodes to valid JSON-RPC; and the fast reader of plain
//! lines reads what the general reader reads.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_server_core::protocol::jsonrpc::{
    INVALID_REQUEST, Incoming, PARSE_ERROR, encode_error, encode_result, parse,
};
use mcp_server_core::protocol::params::CallKind;
use serde_json::Value;

fn is_message(bytes: &[u8]) -> bool {
    let value: Value = serde_json::from_slice(bytes).expect("the server's frames are JSON");
    value["jsonrpc"] == "2.0" && value.get("id").is_some()
}

fuzz_target!(|line: &[u8]| {
    // Where the fast reader of plain lines answers, it answers what the
    // general reader would.
    mcp_server_core::fuzzing::fast_path_agrees(line);
    match parse(line) {
        Ok(Incoming::Request { id, method, params }) => {
            // Only a JSON-RPC 2.0 object with a string method gets here,
            // and what was read is what was sent.
            let sent: Value = serde_json::from_slice(line).expect("a request is JSON");
            assert_eq!(sent["jsonrpc"], "2.0");
            assert_eq!(sent["method"], Value::from(&*method));
            // The params read by method give back what was sent: for a
            // call read typed, the members the server reads.
            let params = params.into_value();
            let call = CallKind::of_method(&method);
            if let Some(kind) = call
                && sent["params"].is_object()
            {
                let subject = kind.subject_key();
                for key in [subject, "arguments", "_meta", "requestState", "inputResponses"] {
                    let mut want = sent["params"].get(key).cloned().filter(|v| {
                        !v.is_null()
                            && (key != subject || v.is_string())
                            && (key != "arguments" || kind.takes_arguments())
                    });
                    // A call's `_meta` is read without its clientInfo.
                    if key == "_meta"
                        && let Some(Value::Object(meta)) = want.as_mut()
                    {
                        meta.remove("io.modelcontextprotocol/clientInfo");
                    }
                    assert_eq!(params.as_ref().and_then(|p| p.get(key)), want.as_ref(), "{key}");
                }
            } else {
                assert_eq!(sent.get("params"), params.as_ref());
            }
            assert!(params.as_ref().is_none_or(|p| p.is_object() || p.is_array()));
            let answer = encode_result(&id, Value::Null);
            assert!(is_message(&answer));
        }
        Ok(Incoming::Notification { method, params }) => {
            let sent: Value = serde_json::from_slice(line).expect("a notification is JSON");
            assert_eq!(sent["method"], Value::from(&*method));
            assert!(sent.get("id").is_none());
            let params = params.into_value();
            assert!(params.as_ref().is_none_or(|p| p.is_object() || p.is_array()));
        }
        Ok(Incoming::Response { .. }) => {}
        Err(rejection) => {
            let as_json = serde_json::from_slice::<Value>(line);
            match as_json {
                Err(_) => assert_eq!(rejection.error.code, PARSE_ERROR, "not JSON: -32700"),
                Ok(_) => assert_eq!(
                    rejection.error.code, INVALID_REQUEST,
                    "JSON, not a message: -32600"
                ),
            }
            let answer = encode_error(rejection.id.as_ref(), &rejection.error);
            assert!(is_message(&answer));
        }
    }
});
