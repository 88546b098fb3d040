//! `requestState` (2026-07-28 multi-round-trip requests), sealed.
//!
//! A call that needs input from the client ends with `input_required`, its
//! `inputRequests` and a `requestState` the client echoes when it retries.
//! The state carries what the server must remember between rounds: the
//! answers of earlier rounds. It passes through the client, so it is
//! attacker-controlled: it is sealed with HMAC-SHA256 under a key of the
//! server's (from configuration, so that replicas agree), and binds the
//! method, the tool (or prompt, or resource) it was issued for and an
//! expiry. Opening checks all of them; any failure is -32602.
//!
//! Form: `base64url(payload JSON) "." base64url(MAC over the payload)`.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

use super::error_object::ErrorObject;

type HmacSha256 = Hmac<Sha256>;

/// What a sealed state carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatePayload {
    /// The method it was issued for (`tools/call`, `prompts/get`,
    /// `resources/read`).
    pub method: String,
    /// The tool or prompt name, or the resource URI.
    pub name: String,
    /// Expiry, in seconds since the Unix epoch.
    pub expires: u64,
    /// Answers of earlier rounds, by input key.
    pub answers: BTreeMap<String, Value>,
    /// The caller it was issued to (a key naming an authenticated
    /// principal), when requests are authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
}

/// Why a state was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Not of the sealed form, or its MAC does not match: tampered.
    #[error("requestState failed its integrity check")]
    Tampered,
    /// Issued for another method or name, or to another caller.
    #[error("requestState was issued for another request")]
    Mismatched,
    /// Past its expiry.
    #[error("requestState has expired")]
    Expired,
}

impl StateError {
    /// The JSON-RPC error (-32602) for this refusal.
    pub fn to_error(self) -> ErrorObject {
        ErrorObject::invalid_params(self.to_string())
    }
}

/// Seals `payload` under `key`.
pub fn seal(key: &[u8], payload: &StatePayload) -> String {
    let json = serde_json::to_vec(payload).expect("a payload serializes");
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(&json);
    let tag = mac.finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&json),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

/// Opens `state` sealed under `key` for a request of `method` on `name`
/// by `caller` (a key naming the authenticated caller, if any), at `now`
/// (seconds since the Unix epoch).
///
/// # Errors
///
/// [`StateError`] for a tampered, mismatched or expired state.
pub fn open(
    key: &[u8],
    state: &str,
    request: (&str, &str),
    caller: Option<&str>,
    now: u64,
) -> Result<StatePayload, StateError> {
    open_any([key], state, request, caller, now)
}

/// [`open`] under whichever of `keys` sealed `state` (the keys a server
/// holds while it rotates: the newest seals, any opens; a key no longer
/// held opens nothing).
///
/// # Errors
///
/// [`StateError`] for a state none of `keys` sealed, or that is
/// mismatched or expired.
pub fn open_any<'k>(
    keys: impl IntoIterator<Item = &'k [u8]>,
    state: &str,
    (method, name): (&str, &str),
    caller: Option<&str>,
    now: u64,
) -> Result<StatePayload, StateError> {
    let (body, tag) = state.split_once('.').ok_or(StateError::Tampered)?;
    let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| StateError::Tampered)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| StateError::Tampered)?;
    let sealed_by = |key: &[u8]| {
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
        mac.update(&json);
        // Constant-time comparison.
        mac.verify_slice(&tag).is_ok()
    };
    if !keys.into_iter().any(sealed_by) {
        return Err(StateError::Tampered);
    }
    let payload: StatePayload = serde_json::from_slice(&json).map_err(|_| StateError::Tampered)?;
    if payload.method != method || payload.name != name || payload.caller.as_deref() != caller {
        return Err(StateError::Mismatched);
    }
    if payload.expires < now {
        return Err(StateError::Expired);
    }
    Ok(payload)
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload() -> StatePayload {
        StatePayload {
            method: "tools/call".into(),
            name: "t".into(),
            expires: 100,
            answers: BTreeMap::from([("a".into(), json!({"action": "accept"}))]),
            caller: None,
        }
    }

    #[test]
    fn a_sealed_state_opens_for_its_request_until_it_expires() {
        let key = b"0123456789abcdef0123456789abcdef";
        let state = seal(key, &payload());
        assert_eq!(open(key, &state, ("tools/call", "t"), None, 100), Ok(payload()));
        assert_eq!(
            open(key, &state, ("tools/call", "t"), None, 101),
            Err(StateError::Expired)
        );
        assert_eq!(
            open(key, &state, ("prompts/get", "t"), None, 50),
            Err(StateError::Mismatched)
        );
        assert_eq!(
            open(key, &state, ("tools/call", "u"), None, 50),
            Err(StateError::Mismatched)
        );
        // Sealed for alice: only alice opens it.
        let alice = StatePayload {
            caller: Some("alice".into()),
            ..payload()
        };
        let state = seal(key, &alice);
        assert_eq!(
            open(key, &state, ("tools/call", "t"), Some("alice"), 50),
            Ok(alice)
        );
        for caller in [Some("bob"), None] {
            assert_eq!(
                open(key, &state, ("tools/call", "t"), caller, 50),
                Err(StateError::Mismatched)
            );
        }
    }

    #[test]
    fn tampering_of_any_kind_is_caught() {
        let key = b"k";
        let state = seal(key, &payload());
        let (body, tag) = state.split_once('.').unwrap();
        // Another payload under the old tag, extra bytes, another key, junk.
        let mut forged = payload();
        forged.expires = u64::MAX;
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        for bad in [
            format!("{forged_body}.{tag}"),
            format!("{state}-TAMPERED"),
            format!("{body}.{}", URL_SAFE_NO_PAD.encode([0u8; 32])),
            "no-dot".to_owned(),
            String::new(),
        ] {
            assert_eq!(
                open(key, &bad, ("tools/call", "t"), None, 0),
                Err(StateError::Tampered),
                "{bad}"
            );
        }
        assert_eq!(
            open(b"other", &state, ("tools/call", "t"), None, 0),
            Err(StateError::Tampered)
        );
    }

    #[test]
    fn any_key_held_opens_and_a_retired_one_does_not() {
        let (old, new) = (
            &b"old key, 16 bytes or more"[..],
            &b"new key, 16 bytes or more"[..],
        );
        let by_old = seal(old, &payload());
        let by_new = seal(new, &payload());
        let request = ("tools/call", "t");
        // Rotating: the new key first, the old one still held.
        for state in [&by_old, &by_new] {
            assert_eq!(open_any([new, old], state, request, None, 0), Ok(payload()));
        }
        // Retired: only the new key is held.
        assert_eq!(
            open_any([new], &by_old, request, None, 0),
            Err(StateError::Tampered)
        );
        assert_eq!(open_any([], &by_new, request, None, 0), Err(StateError::Tampered));
    }
}
