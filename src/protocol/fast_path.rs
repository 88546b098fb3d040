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

use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Map, Value};

use super::incoming::Incoming;
use super::mcp::META_CLIENT_INFO;
use super::params::{CallKind, CallParams, Params, non_null};
use super::request_id::RequestId;

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

/// A cursor over a line's bytes.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    fn at_end(&self) -> bool {
        self.pos == self.text.len()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    fn whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// `:` between a key and its value, with the whitespace around it.
    fn colon(&mut self) -> Option<()> {
        self.whitespace();
        self.eat(b':')?;
        self.whitespace();
        Some(())
    }

    /// An object where the scanner is: `{`, then, for each member, its
    /// key (a plain string) to `member`, which reads the value; then `}`.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        self.whitespace();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.whitespace();
            let key = self.plain_str()?;
            self.colon()?;
            member(self, key)?;
            if self.end_of_member()? {
                return Some(());
            }
        }
    }

    /// After a member: `,` (false: another follows) or `}` (true).
    fn end_of_member(&mut self) -> Option<bool> {
        self.whitespace();
        match self.next()? {
            b',' => Some(false),
            b'}' => Some(true),
            _ => None,
        }
    }

    /// A string without escapes or control characters, borrowed.
    fn plain_str(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        if bytes.get(self.pos) != Some(&b'"') {
            return None;
        }
        let start = self.pos + 1;
        let mut end = start;
        loop {
            match *bytes.get(end)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => end += 1,
            }
        }
        self.pos = end + 1;
        Some(&self.text[start..end])
    }

    /// A JSON value where `s` is: a flat object read here, anything else
    /// by serde_json; `None` if it is not JSON or nests past `MAX_DEPTH`
    /// (checked on values long enough to).
    fn json(&mut self) -> Option<Value> {
        if self.peek()? == b'{' {
            let mut flat = Scanner {
                text: self.text,
                pos: self.pos,
            };
            if let Some(value) = flat.flat_object() {
                self.pos = flat.pos;
                return Some(value);
            }
        }
        self.serde()
    }

    /// A `T` read by serde_json where `s` is; `None` if it is not JSON or
    /// nests past `MAX_DEPTH` (checked on values long enough to).
    fn serde<T: DeserializeOwned>(&mut self) -> Option<T> {
        let rest = self.text.get(self.pos..)?;
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<T>();
        let value = values.next()?.ok()?;
        let len = values.byte_offset();
        if len > 2 * MAX_DEPTH && matches!(rest.as_bytes()[0], b'{' | b'[') {
            container_len(rest.as_bytes())?;
        }
        self.pos += len;
        Some(value)
    }

    /// A call's `_meta`: an object is read without its `clientInfo`,
    /// which is checked as JSON and skipped (the server does not read it);
    /// anything else is kept as it is.
    fn meta(&mut self) -> Option<Value> {
        if self.peek()? != b'{' {
            return self.json();
        }
        let mut members = Map::new();
        self.object(|s, key| {
            if key == META_CLIENT_INFO {
                s.serde::<IgnoredAny>()?;
            } else {
                let value = s.json()?;
                members.insert(key.to_owned(), value);
            }
            Some(())
        })?;
        Some(Value::Object(members))
    }

    /// An object whose values are plain strings, non-negative integers,
    /// booleans or `null` (the usual tool arguments), read without serde.
    fn flat_object(&mut self) -> Option<Value> {
        let mut members = Map::new();
        self.object(|s, key| {
            let value = match s.peek()? {
                b'"' => Value::String(s.plain_str()?.to_owned()),
                b'0'..=b'9' => Value::from(s.plain_integer()?),
                b't' => s.literal("true", Value::Bool(true))?,
                b'f' => s.literal("false", Value::Bool(false))?,
                b'n' => s.literal("null", Value::Null)?,
                _ => return None,
            };
            members.insert(key.to_owned(), value);
            Some(())
        })?;
        Some(Value::Object(members))
    }

    /// `word` (`true`, `false`, `null`) as `value`.
    fn literal(&mut self, word: &str, value: Value) -> Option<Value> {
        let end = self.pos + word.len();
        (self.text.get(self.pos..end)? == word).then(|| {
            self.pos = end;
            value
        })
    }

    /// An id: a plain string, or a plain integer.
    fn id(&mut self) -> Option<RequestId> {
        if self.peek()? == b'"' {
            return self.plain_str().map(|id| RequestId::String(id.to_owned()));
        }
        self.plain_integer().map(RequestId::Number)
    }

    /// A non-negative integer of at most 18 digits (so it fits an `i64`),
    /// `0` or not starting with `0`, and not the start of a float.
    fn plain_integer(&mut self) -> Option<i64> {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        let digits = &self.text[start..self.pos];
        let plain = matches!(digits.len(), 1..=18) && (digits == "0" || !digits.starts_with('0'));
        let next_is_number = matches!(self.peek(), Some(b'.' | b'e' | b'E'));
        if !plain || next_is_number {
            return None;
        }
        digits.parse().ok()
    }

    /// The text of any value, for serde_json to read (which judges whether
    /// it is JSON); `None` past `MAX_DEPTH` or at the end of the line.
    fn value(&mut self) -> Option<&'a str> {
        let rest = self.text.as_bytes().get(self.pos..)?;
        let len = match rest.first()? {
            b'{' | b'[' => container_len(rest)?,
            b'"' => 1 + string_len(&rest[1..])?,
            _ => rest
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(rest.len()),
        };
        let value = &self.text[self.pos..self.pos + len];
        self.pos += len;
        Some(value)
    }
}

/// The length of the object or array `bytes` starts with, to its closing
/// bracket (which serde_json checks matches); `None` past `MAX_DEPTH` or
/// unclosed.
fn container_len(bytes: &[u8]) -> Option<usize> {
    let (mut depth, mut i) = (0usize, 0usize);
    while let Some(&byte) = bytes.get(i) {
        i += 1;
        match byte {
            b'"' => i += string_len(&bytes[i..])?,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return None;
                }
            }
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The length of the rest of a string whose opening quote was read, its
/// closing quote included.
fn string_len(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    loop {
        i += bytes.get(i..)?.iter().position(|&b| b == b'"' || b == b'\\')?;
        if bytes[i] == b'"' {
            return Some(i + 1);
        }
        // An escape: the next byte is part of it.
        i += 2;
    }
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
