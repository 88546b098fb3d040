//! Whole HTTP/1.1 requests, as bytes on a connection (headers, bodies,
//! several pipelined), through hyper and the server's own service: the
//! request checks of both protocol generations (Host and Origin, Accept,
//! Content-Type, body limit, session ids and versions, the 2026-07-28
//! header mirroring and `=?base64?...?=` values), then dispatch. A 2025
//! session is open and `@SID@` in the input names it. What must hold of
//! every answer the client reads:
//!
//! - a status the transport gives (never 500);
//! - a JSON body is one JSON-RPC message, an error for a status of 400 or
//!   more (hyper's own 400 and 431 carry no body);
//! - a 202 has no body;
//! - an SSE body is events whose data is a JSON-RPC message each, and
//!   nothing follows an answer.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_server_core::fuzzing::http_exchange;
use serde_json::Value;

const STATUSES: [u16; 13] = [200, 202, 400, 403, 404, 405, 406, 408, 409, 413, 415, 431, 503];

struct Response {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a chunked body; the rest of the input after it, or `None` if
/// it is cut short (the connection ended inside it).
fn dechunk(mut bytes: &[u8], body: &mut Vec<u8>) -> Option<usize> {
    let start = bytes.len();
    loop {
        let line_end = find(bytes, b"\r\n")?;
        let size_text = std::str::from_utf8(&bytes[..line_end]).expect("a chunk size is ASCII");
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).expect("a hex chunk size");
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            let end = find(bytes, b"\r\n")?;
            return Some(start - (bytes.len() - end - 2));
        }
        if bytes.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&bytes[..size]);
        assert_eq!(&bytes[size..size + 2], b"\r\n", "a chunk ends with CRLF");
        bytes = &bytes[size + 2..];
    }
}

/// The responses in `out`; the last may be cut short by the end of the
/// connection (a stream the shutdown ended mid-way, or an aborted one).
fn responses(mut out: &[u8]) -> Vec<Response> {
    let mut all = Vec::new();
    while !out.is_empty() {
        let Some(head_end) = find(out, b"\r\n\r\n") else {
            panic!("a response head that never ends: {:?}", String::from_utf8_lossy(out));
        };
        let head = std::str::from_utf8(&out[..head_end]).expect("a response head is ASCII");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("a status line");
        // hyper answers an HTTP/1.0 request in HTTP/1.0.
        let old = status_line.starts_with("HTTP/1.0 ");
        assert!(old || status_line.starts_with("HTTP/1.1 "), "{status_line}");
        let status: u16 = status_line[9..12].parse().expect("a status code");
        let (mut content_type, mut length, mut chunked) = (String::new(), None, false);
        for line in lines {
            let (name, value) = line.split_once(':').expect("a header line has a colon");
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-type" => content_type = value.to_owned(),
                "content-length" => length = Some(value.parse::<usize>().expect("a length")),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                _ => {}
            }
        }
        out = &out[head_end + 4..];
        let mut body = Vec::new();
        if chunked {
            match dechunk(out, &mut body) {
                Some(used) => out = &out[used..],
                None => out = &[],
            }
        } else if old && length.is_none() {
            // HTTP/1.0 without a length: the body runs to the close.
            body.extend_from_slice(out);
            out = &[];
        } else {
            let n = length.unwrap_or(0).min(out.len());
            body.extend_from_slice(&out[..n]);
            out = &out[n..];
        }
        all.push(Response {
            status,
            content_type,
            body,
        });
    }
    all
}

/// Checks a JSON-RPC message; true if it is an answer (a result or an
/// error).
fn message(value: &Value) -> bool {
    assert_eq!(value["jsonrpc"], "2.0", "{value}");
    let has = |k: &str| value.get(k).is_some();
    if has("method") {
        assert!(value["method"].is_string(), "{value}");
        return false;
    }
    assert!(has("id"), "an answer has an id: {value}");
    assert!(has("result") != has("error"), "a result or an error: {value}");
    if has("error") {
        assert!(value["error"]["code"].is_i64(), "{value}");
        assert!(value["error"]["message"].is_string(), "{value}");
    }
    true
}

fuzz_target!(|input: &[u8]| {
    let out = http_exchange(input);
    for response in responses(&out) {
        assert!(STATUSES.contains(&response.status), "status {}", response.status);
        if response.status == 202 {
            assert!(response.body.is_empty(), "a 202 has no body");
        }
        if response.content_type.starts_with("application/json") {
            let value: Value = serde_json::from_slice(&response.body).expect("a JSON body is JSON");
            let answer = message(&value);
            if response.status >= 400 {
                assert!(answer && value.get("error").is_some(), "{value}");
            }
        } else if response.content_type.starts_with("text/event-stream") {
            let text = String::from_utf8(response.body).expect("an SSE stream is UTF-8");
            let mut answered = false;
            for line in text.split('\n') {
                let Some(data) = line.strip_prefix("data: ") else {
                    continue;
                };
                if data.is_empty() {
                    continue; // a priming event
                }
                assert!(!answered, "an event after the answer");
                answered = message(&serde_json::from_str(data).expect("event data is JSON"));
            }
        } else {
            assert!(response.body.is_empty() || response.status >= 400, "an untyped body");
        }
    }
});
