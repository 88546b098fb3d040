//! W3C trace context in a request's `_meta` (SEP-414: the keys
//! `traceparent`, `tracestate` and `baggage`, unprefixed): read from a
//! request so that its logs join the client's trace, and written on the
//! requests the server sends the client while serving it.
//!
//! A `traceparent` that is not of the W3C form is ignored with the rest of
//! the context, as the W3C recommendation says.

use serde_json::{Map, Value};

/// Longest `tracestate` kept (W3C: 32 members of at most 256 characters;
/// 512 is what a vendor must propagate at least).
const MAX_TRACESTATE: usize = 512;
/// Longest `baggage` kept (W3C Baggage: 8192 bytes).
const MAX_BAGGAGE: usize = 8192;

/// The trace a request belongs to, and the server's own span in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: String,
    parent_id: String,
    flags: String,
    span_id: String,
    tracestate: Option<String>,
    baggage: Option<String>,
}

impl TraceContext {
    /// The context `meta` carries, if its `traceparent` is valid; the
    /// server's span in it gets a new random id.
    pub fn from_meta(meta: Option<&Value>) -> Option<Self> {
        let meta = meta?.as_object()?;
        let (trace_id, parent_id, flags) = parse_traceparent(meta.get("traceparent")?.as_str()?)?;
        let text = |key: &str, max: usize| {
            meta.get(key)
                .and_then(Value::as_str)
                .filter(|v| v.len() <= max && v.is_ascii())
                .map(str::to_owned)
        };
        Some(Self {
            trace_id: trace_id.to_owned(),
            parent_id: parent_id.to_owned(),
            flags: flags.to_owned(),
            span_id: new_span_id(),
            tracestate: text("tracestate", MAX_TRACESTATE),
            baggage: text("baggage", MAX_BAGGAGE),
        })
    }

    /// The trace id (32 lowercase hex digits).
    pub fn trace_id(&self) -> &str {
        &self.trace_id
    }

    /// The client's span that made the request (16 hex digits).
    pub fn parent_id(&self) -> &str {
        &self.parent_id
    }

    /// The server's span serving the request (16 hex digits, random).
    pub fn span_id(&self) -> &str {
        &self.span_id
    }

    /// The `traceparent` for a call made while serving the request: the
    /// same trace, the server's span as the parent.
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-{}", self.trace_id, self.span_id, self.flags)
    }

    /// The request's `tracestate`, passed on unchanged.
    pub fn tracestate(&self) -> Option<&str> {
        self.tracestate.as_deref()
    }

    /// The request's `baggage`, passed on unchanged.
    pub fn baggage(&self) -> Option<&str> {
        self.baggage.as_deref()
    }

    /// Puts this context, as the parent of what `meta` goes with, into
    /// `meta` (keys already there are left alone).
    pub(crate) fn propagate(&self, meta: &mut Map<String, Value>) {
        meta.entry("traceparent")
            .or_insert_with(|| Value::from(self.traceparent()));
        for (key, value) in [("tracestate", &self.tracestate), ("baggage", &self.baggage)] {
            if let Some(value) = value {
                meta.entry(key).or_insert_with(|| Value::from(value.as_str()));
            }
        }
    }
}

/// `(trace-id, parent-id, flags)` of a version-00 `traceparent` (or a
/// later version's first four fields), lowercase hex, ids not all zero.
fn parse_traceparent(text: &str) -> Option<(&str, &str, &str)> {
    let hex =
        |s: &str, len: usize| s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let nonzero = |s: &str| s.bytes().any(|b| b != b'0');
    let mut fields = text.split('-');
    let (version, trace_id, parent_id, flags) =
        (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
    let rest_ok = match version {
        "00" => fields.next().is_none(),
        "ff" => false,
        _ => true,
    };
    (rest_ok
        && hex(version, 2)
        && hex(trace_id, 32)
        && nonzero(trace_id)
        && hex(parent_id, 16)
        && nonzero(parent_id)
        && hex(flags, 2))
    .then_some((trace_id, parent_id, flags))
}

fn new_span_id() -> String {
    let mut bytes = [0u8; 8];
    while bytes == [0; 8] {
        crate::sync::random_fill(&mut bytes);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use serde_json::json;

    use super::*;

    const PARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn a_valid_context_is_read_and_passed_on_as_the_servers_child() {
        let meta = json!({"traceparent": PARENT, "tracestate": "congo=t61rcWkgMzE", "baggage": "user=alice"});
        let context = TraceContext::from_meta(Some(&meta)).unwrap();
        assert_eq!(context.trace_id(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(context.parent_id(), "b7ad6b7169203331");
        assert_eq!(context.span_id().len(), 16);
        assert_ne!(context.span_id(), context.parent_id());
        let child = context.traceparent();
        assert!(
            child.starts_with("00-0af7651916cd43dd8448eb211c80319c-"),
            "{child}"
        );
        assert!(child.ends_with("-01"));
        assert_eq!(parse_traceparent(&child).unwrap().1, context.span_id());
        let mut out = Map::new();
        context.propagate(&mut out);
        assert_eq!(out["traceparent"], child);
        assert_eq!(out["tracestate"], "congo=t61rcWkgMzE");
        assert_eq!(out["baggage"], "user=alice");
        // A later version may carry more fields.
        let future = json!({"traceparent": format!("cc{}-extra", &PARENT[2..])});
        assert!(TraceContext::from_meta(Some(&future)).is_some());
    }

    #[test]
    fn an_invalid_traceparent_is_no_context() {
        for bad in [
            "",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01",
        ] {
            let meta = json!({"traceparent": bad});
            assert_eq!(TraceContext::from_meta(Some(&meta)), None, "{bad:?}");
        }
        assert_eq!(TraceContext::from_meta(Some(&json!({"traceparent": 7}))), None);
        assert_eq!(TraceContext::from_meta(None), None);
    }
}
