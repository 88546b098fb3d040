//! The bytes of one event on a shared bus: a JSON object naming the
//! process that published it, the notification's method and its params.
//!
//! ```text
//! {"v":1,"origin":"9f3c…","method":"notifications/tools/list_changed","params":{…}}
//! ```
//!
//! What arrives from a bus is not trusted blindly: an event that is not
//! this shape, or of another version, is refused (and counted by the
//! caller), never half-delivered.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The format of [`encode`]; an event of another is refused.
const VERSION: u32 = 1;

/// Longest method name accepted from a bus, in bytes.
const MAX_METHOD_BYTES: usize = 256;

#[derive(Serialize)]
struct Outgoing<'a> {
    v: u32,
    origin: &'a str,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a Value>,
}

/// An event read from a bus.
#[derive(Debug, Deserialize, PartialEq)]
pub(crate) struct Event {
    v: u32,
    /// The process that published it.
    pub(crate) origin: String,
    /// The notification's method.
    pub(crate) method: String,
    /// The notification's params.
    #[serde(default)]
    pub(crate) params: Option<Value>,
}

/// The bytes of a notification published by `origin`.
pub(crate) fn encode(origin: &str, method: &str, params: Option<&Value>) -> Vec<u8> {
    serde_json::to_vec(&Outgoing {
        v: VERSION,
        origin,
        method,
        params,
    })
    .expect("a JSON value always serializes")
}

/// The event in `bytes`, or why it is refused.
pub(crate) fn decode(bytes: &[u8]) -> Result<Event, String> {
    let event: Event = serde_json::from_slice(bytes).map_err(|e| format!("not an event: {e}"))?;
    if event.v != VERSION {
        return Err(format!("event format {} (this server reads {VERSION})", event.v));
    }
    if !event.method.starts_with("notifications/") || event.method.len() > MAX_METHOD_BYTES {
        return Err(format!("not a notification method: {:.64}", event.method));
    }
    if event.params.as_ref().is_some_and(|p| !p.is_object()) {
        return Err("params is not an object".into());
    }
    Ok(event)
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_encoded_event_decodes_to_itself() {
        let params = json!({"uri": "file:///a"});
        let bytes = encode("o1", "notifications/resources/updated", Some(&params));
        let event = decode(&bytes).unwrap();
        assert_eq!(
            (event.origin.as_str(), event.method.as_str(), event.params),
            ("o1", "notifications/resources/updated", Some(params))
        );
        let bare = decode(&encode("o2", "notifications/tools/list_changed", None)).unwrap();
        assert_eq!(bare.params, None);
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            &b"not json"[..],
            br#"{"origin":"o","method":"notifications/x"}"#,
            br#"{"v":2,"origin":"o","method":"notifications/x"}"#,
            br#"{"v":1,"origin":"o","method":"tools/call"}"#,
            br#"{"v":1,"origin":"o","method":"notifications/x","params":[1]}"#,
            br#"{"v":1,"method":"notifications/x"}"#,
        ] {
            assert!(decode(bad).is_err(), "{} accepted", String::from_utf8_lossy(bad));
        }
        let long = format!(
            r#"{{"v":1,"origin":"o","method":"notifications/{}"}}"#,
            "x".repeat(300)
        );
        assert!(decode(long.as_bytes()).is_err());
    }
}
