//! A fast reader for the lines clients send most, beside the general one.
//!
//! serde_json reads every key and string through a general string reader,
//! which costs more than the rest of a small request together. Most lines
//! are plain: an object of `jsonrpc`, `id`, `method` and `params`, keys and
//! names without escapes, and, for a call, params of its name, `arguments`
//! and `_meta`. This reader takes exactly those, scanning the bytes once.
//! The values a handler reads as JSON (`arguments`, `_meta`, other
//! methods' params) become `Value`s as before: a flat object of plain
//! strings, integers, booleans and nulls (the usual arguments) read here,
//! anything else by serde_json, from where it starts.
//!
//! It answers only when it is sure: anything else (an escape in a key or a
//! name, another member, a duplicate, a response, a float or negative id,
//! nesting past [`MAX_DEPTH`], bytes after the object, any JSON error) is
//! `None`, and the general reader takes the line and gives the answer it
//! always gave. Where it answers, it answers what the general reader would
//! (unit tests below; the `jsonrpc` fuzz target checks it on every input).
//! Pure: no I/O.

use std::borrow::Cow;

use super::incoming::Incoming;
use super::params::{CallKind, CallParams, Params, non_null};

mod scanner;

use scanner::Scanner;

/// Deepest nesting of a value this reader passes to serde_json; deeper
/// lines go to the general reader, which judges them against serde_json's
/// own limit.
const MAX_DEPTH: usize = 64;

/// The message on `text`, if it is a plain one (see the module docs).
pub(crate) fn parse(text: &str) -> Option<Incoming<'_>> {
    let mut s = Scanner::new(text);
    s.whitespace();
    let (mut jsonrpc, mut id, mut method, mut params) = (false, None, None, None);
    s.object(|s, key| {
        match key {
            "jsonrpc" if !jsonrpc => {
                if s.plain_str()? != "2.0" {
                    return None;
                }
                jsonrpc = true;
            }
            "id" if id.is_none() => id = Some(s.id()?),
            "method" if method.is_none() => method = Some(s.plain_str()?),
            // After the method (as clients send it): read in place.
            "params" if params.is_none() => match method {
                Some(method) => params = Some(Ok(read_params(method, s)?)),
                None => params = Some(Err(s.value()?)),
            },
            _ => return None,
        }
        Some(())
    })?;
    s.whitespace();
    if !s.at_end() || !jsonrpc {
        return None;
    }
    let method = method?;
    let params = match params {
        None => Params::absent(),
        Some(Ok(params)) => params,
        // Before the method: read from their text now.
        Some(Err(text)) => {
            let mut s = Scanner::new(text);
            let params = read_params(method, &mut s)?;
            s.at_end().then_some(params)?
        }
    };
    let method = Cow::Borrowed(method);
    Some(match id {
        Some(id) => Incoming::Request { id, method, params },
        None => Incoming::Notification { method, params },
    })
}

/// The params of `method`, read where `s` is.
fn read_params<'a>(method: &str, s: &mut Scanner<'a>) -> Option<Params<'a>> {
    match CallKind::of_method(method) {
        Some(kind) => call_params(kind, s),
        None => {
            let value = s.json()?;
            (value.is_object() || value.is_array()).then(|| Params::json(value))
        }
    }
}

/// A call's params: its name (or URI), `arguments` and `_meta`.
fn call_params<'a>(kind: CallKind, s: &mut Scanner<'a>) -> Option<Params<'a>> {
    let mut call = CallParams::new(kind);
    let (mut subject, mut arguments, mut meta) = (false, false, false);
    s.object(|s, key| {
        if key == kind.subject_key() && !subject {
            // A name that is not a plain string: the general reader.
            call.subject = Some(Cow::Borrowed(s.plain_str()?));
            subject = true;
        } else if key == "arguments" && kind.takes_arguments() && !arguments {
            call.arguments = non_null(s.json()?);
            arguments = true;
        } else if key == "_meta" && !meta {
            call.meta = non_null(s.meta()?);
            meta = true;
        } else {
            return None;
        }
        Some(())
    })?;
    Some(Params::call(call))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::jsonrpc::parse_general;

    /// Lines this reader takes: it must give what the general one gives.
    const TAKEN: &[&str] = &[
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}"#,
        r#" { "jsonrpc" : "2.0" , "id" : "a-1" , "method" : "tools/call" , "params" : { "arguments" : { "text" : "h\u00e9 \"x\"" } , "name" : "echo" } } "#,
        r#"{"method":"tools/call","params":{"name":"echo","arguments":null,"_meta":{"progressToken":"p","io.modelcontextprotocol/clientInfo":{"name":"c"}}},"id":0,"jsonrpc":"2.0"}"#,
        r#"{"jsonrpc":"2.0","id":9223372036854775,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"cursor":"x","_meta":{}}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"file:///a b","_meta":null}}"#,
        r#"{"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"name":"p","arguments":{"a":"1"}}}"#,
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{}}"#,
        r#"{"jsonrpc":"2.0","id":6,"method":"x","params":[1,{"a":[]},"]"]}"#,
        r#"{"params":{"name":"echo"},"jsonrpc":"2.0","id":7,"method":"tools/call"}"#,
        r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"e","arguments":{ "b" : 10 , "a":true,"c":false,"d":null,"b":"x","e":0 }}}"#,
        r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"e","arguments":{}}}"#,
        r#"{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"e","arguments":{"n":-1,"f":1.5,"x":1e3,"s":"\n","o":{"a":[1]}}}}"#,
        r#"{"jsonrpc":"2.0","id":11,"method":"tools/call","params":{"name":"e","arguments":{"n":123456789012345678901234}}}"#,
        r#"{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"e","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{}},"io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"},"k":1,"k":[2]}}}"#,
        r#"{"jsonrpc":"2.0","id":13,"method":"prompts/get","params":{"name":"p","_meta":["x",{}]}}"#,
    ];

    /// Lines left to the general reader, whatever it makes of them.
    const LEFT: &[&str] = &[
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ech\u006f"}}"#,
        r#"{"jsonrpc":"2.0","id":-1,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":1.0,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":1e2,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":01,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":99999999999999999999,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"ping","extra":1}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
        r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
        r#"{"id":1,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"ping"} x"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"ping",}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e","arguments":{"a":}}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e","arguments":{"a":1]}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e","task":{}}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"a","arguments":{}}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"a	b"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e","_meta":{"io.modelcontextprotocol/clientInfo":{"a":}}}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e","arguments":{"a":tru}}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e","arguments":{"a":01}}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"e","arguments":{"a":1,}}}"#,
        r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
        "{}",
        "",
    ];

    #[test]
    fn plain_lines_read_as_the_general_reader_reads_them() {
        for line in TAKEN {
            let fast = parse(line).unwrap_or_else(|| panic!("not taken: {line}"));
            assert_eq!(Ok(fast), parse_general(line), "{line}");
        }
        // `arguments` and `_meta` as JSON, `clientInfo` left out.
        let Some(Incoming::Request { params, .. }) = parse(TAKEN[2]) else {
            panic!()
        };
        assert_eq!(params.arguments(), None);
        assert_eq!(params.meta(), Some(&serde_json::json!({"progressToken": "p"})));
    }

    #[test]
    fn other_lines_are_left_to_the_general_reader() {
        for line in LEFT {
            assert!(parse(line).is_none(), "taken: {line}");
        }
        let deep = |n: usize| {
            format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"e","arguments":{}{}}}}}"#,
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        assert!(parse(&deep(MAX_DEPTH - 1)).is_some());
        assert!(parse(&deep(MAX_DEPTH + 1)).is_none());
    }
}
