//! Typed results written straight into a response's frame: the members a
//! result writes, and what a 2026-07-28 result carries after them
//! (caching directives, `resultType`, the server's info). A leaf: the
//! server's result types (a tool's output, a page of a list, a prompt's
//! messages) implement [`ResultMembers`] here, and its answers finish them.

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// A typed result: writes its members straight into the answer's frame.
pub(crate) trait ResultMembers {
    /// Appends the result's own members as JSON text (`"key":value`, comma
    /// separated, at least one; no braces).
    fn write(&self, out: &mut Vec<u8>);

    /// How a 2026-07-28 client may cache it: `Some(true)` for anyone's
    /// (public), `Some(false)` for this client's (private), `None` not
    /// cacheable.
    fn cache_scope(&self) -> Option<bool> {
        None
    }

    /// The result as JSON, as a 2025 session gets it.
    fn to_value(&self) -> Value
    where
        Self: Sized,
    {
        let mut out = Vec::new();
        finish(&mut out, self, None);
        serde_json::from_slice(&out).expect("a result is written as JSON")
    }
}

/// Appends `value` as JSON text.
pub(crate) fn put(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    serde_json::to_writer(out, value).expect("a result's value serializes");
}

/// What a 2026-07-28 result carries after its own members.
#[derive(Clone, Copy)]
pub(crate) struct Stateless<'a> {
    /// The time to live of a cacheable result.
    pub(crate) ttl_ms: u64,
    /// `{"io.modelcontextprotocol/serverInfo": ...}`.
    pub(crate) meta: &'a RawValue,
}

/// Writes a typed result as one object; a 2026-07-28 one also carries the
/// caching directives of a cacheable result, `resultType` and the
/// server's info (what `cacheable` and `finish_result` add to a result
/// built as JSON).
pub(crate) fn finish(out: &mut Vec<u8>, members: &impl ResultMembers, stateless: Option<Stateless<'_>>) {
    out.push(b'{');
    members.write(out);
    if let Some(stateless) = stateless {
        if let Some(public) = members.cache_scope() {
            out.extend_from_slice(br#","ttlMs":"#);
            put(out, &stateless.ttl_ms);
            out.extend_from_slice(if public {
                br#","cacheScope":"public""#
            } else {
                br#","cacheScope":"private""#
            });
        }
        out.extend_from_slice(br#","resultType":"complete","_meta":"#);
        out.extend_from_slice(stateless.meta.get().as_bytes());
    }
    out.push(b'}');
}
