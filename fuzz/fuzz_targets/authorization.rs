//! What authorization reads from a request before any key is involved:
//! the `Authorization` headers and the query (one bearer token, in the
//! header only), the token's header and the issuer it names, and the
//! challenge of a refusal, whatever the reason says (a valid header value
//! always). Also any JSON read as a token's claims. No input panics.
//!
//! Input: pieces separated by 0xFF; the first byte says whether the last
//! piece is the query (odd) or one more `Authorization` value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcp_server_core::fuzzing::{auth_claims, authorization};

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let mut pieces: Vec<Vec<u8>> = rest.split(|&b| b == 0xFF).map(<[u8]>::to_vec).collect();
    let query = if flags & 1 == 1 {
        pieces.pop().and_then(|q| String::from_utf8(q).ok())
    } else {
        None
    };
    pieces.truncate(4);
    authorization(&pieces, query.as_deref());
    // The middle segment of each value, as a JWT's claims would be.
    for piece in &pieces {
        auth_claims(piece);
    }
});
