//! The fast reader's cursor: plain keys and strings, integers, and values
//! handed to serde_json from where they start, each read by scanning the
//! line's bytes once. Every method answers `None` where it is not sure.

use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Map, Value};

use super::MAX_DEPTH;
use crate::protocol::mcp::META_CLIENT_INFO;
use crate::protocol::request_id::RequestId;

/// A cursor over a line's bytes.
pub(super) struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

// `#[inline]` on the small steps: they are called per byte or per member
// from `mod.rs`, and were inlined there before this file was split off
// (about 180 instructions per call over stdio; `analysis/`).
impl<'a> Scanner<'a> {
    #[inline]
    pub(super) fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    #[inline]
    pub(super) fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    #[inline]
    pub(super) fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    #[inline]
    pub(super) fn at_end(&self) -> bool {
        self.pos == self.text.len()
    }

    #[inline]
    pub(super) fn eat(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    #[inline]
    pub(super) fn whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// `:` between a key and its value, with the whitespace around it.
    #[inline]
    pub(super) fn colon(&mut self) -> Option<()> {
        self.whitespace();
        self.eat(b':')?;
        self.whitespace();
        Some(())
    }

    /// An object where the scanner is: `{`, then, for each member, its
    /// key (a plain string) to `member`, which reads the value; then `}`.
    #[inline]
    pub(super) fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
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
    #[inline]
    pub(super) fn end_of_member(&mut self) -> Option<bool> {
        self.whitespace();
        match self.next()? {
            b',' => Some(false),
            b'}' => Some(true),
            _ => None,
        }
    }

    /// A string without escapes or control characters, borrowed.
    #[inline]
    pub(super) fn plain_str(&mut self) -> Option<&'a str> {
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
    pub(super) fn json(&mut self) -> Option<Value> {
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
    pub(super) fn serde<T: DeserializeOwned>(&mut self) -> Option<T> {
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
    pub(super) fn meta(&mut self) -> Option<Value> {
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
    pub(super) fn flat_object(&mut self) -> Option<Value> {
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
    pub(super) fn literal(&mut self, word: &str, value: Value) -> Option<Value> {
        let end = self.pos + word.len();
        (self.text.get(self.pos..end)? == word).then(|| {
            self.pos = end;
            value
        })
    }

    /// An id: a plain string, or a plain integer.
    pub(super) fn id(&mut self) -> Option<RequestId> {
        if self.peek()? == b'"' {
            return self.plain_str().map(|id| RequestId::String(id.to_owned()));
        }
        self.plain_integer().map(RequestId::Number)
    }

    /// A non-negative integer of at most 18 digits (so it fits an `i64`),
    /// `0` or not starting with `0`, and not the start of a float.
    pub(super) fn plain_integer(&mut self) -> Option<i64> {
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
    pub(super) fn value(&mut self) -> Option<&'a str> {
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
