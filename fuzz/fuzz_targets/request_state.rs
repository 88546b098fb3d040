//! The `requestState` opener (2026-07-28 multi-round-trip requests): a
//! state the server sealed opens to exactly what was sealed; the same state
//! with any byte changed, or for another method, name or key, is never
//! accepted; and arbitrary text is refused without a panic.
//!
//! Input: [flip position (2 bytes), flip mask, payload bytes...].

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use mcp_server_core::protocol::request_state::{StatePayload, open, seal};
use serde_json::Value;

const KEY: &[u8] = b"fuzzing key, 32 bytes long......";
const NOW: u64 = 1_000;

fuzz_target!(|input: &[u8]| {
    // Arbitrary text as a state: refused, or (never) accepted only if it
    // really is sealed with the key.
    if let Ok(text) = std::str::from_utf8(input) {
        if let Ok(payload) = open(KEY, text, ("tools/call", "t"), None, NOW) {
            assert_eq!(seal(KEY, &payload), text, "accepted a state the key did not seal");
        }
    }
    if input.len() < 3 {
        return;
    }
    let at = usize::from(u16::from_le_bytes([input[0], input[1]]));
    let mask = input[2];
    let body = String::from_utf8_lossy(&input[3..]).into_owned();
    let mut answers = BTreeMap::new();
    answers.insert("input-1".to_owned(), Value::String(body.clone()));
    let payload = StatePayload {
        method: "tools/call".to_owned(),
        name: body.clone(),
        expires: NOW + 60,
        answers,
        caller: None,
    };
    let sealed = seal(KEY, &payload);
    assert_eq!(open(KEY, &sealed, ("tools/call", &body), None, NOW), Ok(payload.clone()));
    assert!(open(KEY, &sealed, ("prompts/get", &body), None, NOW).is_err());
    assert!(
        open(
            b"another key, also 32 bytes long.",
            &sealed,
            ("tools/call", &body),
            None,
            NOW
        )
        .is_err()
    );
    assert!(open(KEY, &sealed, ("tools/call", &body), None, NOW + 61).is_err());
    // Another caller: never accepted.
    assert!(open(KEY, &sealed, ("tools/call", &body), Some("bob"), NOW).is_err());
    // One byte changed: never accepted.
    if mask != 0 {
        let mut bytes = sealed.clone().into_bytes();
        let i = at % bytes.len();
        bytes[i] ^= mask;
        if let Ok(changed) = String::from_utf8(bytes) {
            assert!(
                open(KEY, &changed, ("tools/call", &body), None, NOW).is_err(),
                "a changed state was accepted"
            );
        }
    }
});
