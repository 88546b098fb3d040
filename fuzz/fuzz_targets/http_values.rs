//! Values the HTTP transport reads from headers: `Last-Event-ID` (a
//! stream and a sequence number; what the server writes reads back the
//! same) and header values that may be `=?base64?...?=` encoded (a plain
//! value reads back as itself; an encoded one as what was encoded). No
//! input panics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_server_core::fuzzing::{event_id, header_value};

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    if let Some((stream, seq)) = event_id(text) {
        assert_eq!(event_id(&format!("{stream}-{seq}")), Some((stream, seq)));
    }
    if let Some(decoded) = header_value(text) {
        if !text.starts_with("=?") {
            assert_eq!(decoded, text, "a plain value is read as itself");
        }
    }
    let encoded = format!("=?base64?{}?=", base64_encode(text.as_bytes()));
    assert_eq!(header_value(&encoded).as_deref(), Some(text), "{encoded}");
});

/// Standard base64 with padding, written out so the target needs no crate.
fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
