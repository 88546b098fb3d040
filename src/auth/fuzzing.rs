//! For the fuzz target `authorization` (`crate::fuzzing`): one request's
//! `Authorization` values and query through everything authorization does
//! before a key is involved, with the properties that must hold.

use http::{HeaderMap, HeaderValue};
use serde_json::{Map, Value};

use super::bearer::{Credential, MAX_TOKEN_BYTES, credential};
use super::challenge::{self, Error};
use super::jwt::{DEFAULT_ALGORITHMS, inspect};
use super::verifier::principal_of;
use super::{AuthConfig, VerifyError};

/// Runs `values` (as `Authorization` headers) and `query` through the
/// bearer parser, the token's inspection, the claims' reading and the
/// challenge; panics if a property fails. What the credential was.
pub(crate) fn authorization(values: &[Vec<u8>], query: Option<&str>) -> &'static str {
    let mut headers = HeaderMap::new();
    for value in values {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            headers.append(http::header::AUTHORIZATION, value);
        }
    }
    let config = AuthConfig::new("https://mcp.example/mcp")
        .and_then(|c| c.scopes_supported(["read", "write"]))
        .expect("a valid configuration");
    let (kind, description) = match credential(&headers, query) {
        Credential::Missing => ("missing", None),
        Credential::BadRequest(why) => ("bad request", Some(why.to_owned())),
        Credential::Malformed(why) => ("malformed", Some(why.to_owned())),
        Credential::Bearer(token) => {
            assert!(
                !token.is_empty() && token.len() <= MAX_TOKEN_BYTES,
                "a bearer token out of bounds"
            );
            assert!(!token.contains(' '), "a bearer token with a space");
            let why = match inspect(token, &DEFAULT_ALGORITHMS) {
                Ok((_, _)) => "inspected".to_owned(),
                Err(VerifyError::Invalid(why)) => why,
                Err(VerifyError::Unavailable(_)) => panic!("inspection never needs the network"),
            };
            ("bearer", Some(why))
        }
    };
    // Whatever the reason says, the challenge is a valid header value.
    let error = description.as_deref().map(|d| (Error::InvalidToken, d));
    let header = challenge::header(&config, error, &config.scopes_supported);
    assert!(
        HeaderValue::from_str(&header).is_ok(),
        "an invalid challenge: {header:?}"
    );
    kind
}

/// Reads `claims` (any JSON) as a caller; panics if it does not come back
/// whole.
pub(crate) fn claims(claims: &[u8]) {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(claims) {
        let copy: Map<String, Value> = map.clone();
        if let Ok(principal) = principal_of(map) {
            assert_eq!(*principal.claims, copy, "the claims come back whole");
        }
    }
}
