//! The bearer credential of a request (RFC 6750 section 2.1): one
//! `Authorization: Bearer <token68>` header, never a query parameter or a
//! form field.

use http::HeaderMap;
use http::header::AUTHORIZATION;

/// Longest token accepted; longer ones are refused before any parsing.
pub(crate) const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// What a request presented.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credential<'a> {
    /// No bearer token (no `Authorization`, or another scheme such as
    /// `Basic`): a challenge without an error code.
    Missing,
    /// A bearer token, well-formed as RFC 6750's `b64token`.
    Bearer(&'a str),
    /// A bearer credential that cannot be a token (empty, too long, bad
    /// characters): `invalid_token`.
    Malformed(&'static str),
    /// A request that is not well-formed (two `Authorization` headers, a
    /// token in the query string): `invalid_request`, 400.
    BadRequest(&'static str),
}

/// The credential of a request with `headers` and URI `query`.
pub(crate) fn credential<'a>(headers: &'a HeaderMap, query: Option<&str>) -> Credential<'a> {
    if query.is_some_and(has_token_parameter) {
        return Credential::BadRequest("access tokens are not accepted in the query string");
    }
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Credential::Missing;
    };
    if values.next().is_some() {
        return Credential::BadRequest("more than one Authorization header");
    }
    let value = value.as_bytes();
    let Some(space) = value.iter().position(|&b| b == b' ') else {
        // A scheme alone: `Bearer` with no token is a malformed one.
        return if value.eq_ignore_ascii_case(b"bearer") {
            Credential::Malformed("empty bearer token")
        } else {
            Credential::Missing
        };
    };
    if !value[..space].eq_ignore_ascii_case(b"bearer") {
        return Credential::Missing;
    }
    let token = &value[space + 1..];
    let token = &token[token.iter().take_while(|&&b| b == b' ').count()..];
    if token.is_empty() {
        return Credential::Malformed("empty bearer token");
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Credential::Malformed("bearer token too long");
    }
    if !is_b64token(token) {
        return Credential::Malformed("bearer token has characters a token cannot have");
    }
    // ASCII throughout, as is_b64token checked.
    match std::str::from_utf8(token) {
        Ok(token) => Credential::Bearer(token),
        Err(_) => Credential::Malformed("bearer token has characters a token cannot have"),
    }
}

/// RFC 6750's `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
/// "+" / "/" ) *"="`.
fn is_b64token(token: &[u8]) -> bool {
    /// The bytes of the body of a `b64token`, by value.
    const BODY: [bool; 256] = {
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
            b += 1;
        }
        table
    };
    // The padding is the trailing `=`s; everything before must be body.
    let body = token.iter().rposition(|&b| b != b'=').map_or(0, |last| last + 1);
    body > 0 && token[..body].iter().all(|&b| BODY[usize::from(b)])
}

/// True if a query string carries `access_token` (RFC 6750 section 2.3,
/// which MCP forbids).
fn has_token_parameter(query: &str) -> bool {
    query
        .split('&')
        .any(|pair| pair.split('=').next().is_some_and(|name| name == "access_token"))
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    #[test]
    fn a_bearer_token_is_read_whatever_the_scheme_case() {
        let headers = with(&["bearer abc.def-_~+/=="]);
        assert_eq!(credential(&headers, None), Credential::Bearer("abc.def-_~+/=="));
        let headers = with(&["Bearer  x"]);
        assert_eq!(credential(&headers, None), Credential::Bearer("x"));
    }

    #[test]
    fn other_schemes_and_no_header_are_missing_credentials() {
        assert_eq!(credential(&with(&[]), None), Credential::Missing);
        assert_eq!(credential(&with(&["Basic dTpw"]), None), Credential::Missing);
        assert_eq!(credential(&with(&["Bearerx y"]), None), Credential::Missing);
    }

    #[test]
    fn malformed_tokens_and_requests_are_told_apart() {
        for v in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer =abc",
            "Bearer a=b",
            "Bearer a\"b",
        ] {
            assert!(
                matches!(credential(&with(&[v]), None), Credential::Malformed(_)),
                "{v}"
            );
        }
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
        assert!(matches!(
            credential(&with(&[&long]), None),
            Credential::Malformed(_)
        ));
        assert!(matches!(
            credential(&with(&["Bearer a", "Bearer b"]), None),
            Credential::BadRequest(_)
        ));
        let query = Some("x=1&access_token=abc");
        assert!(matches!(credential(&with(&[]), query), Credential::BadRequest(_)));
        assert_eq!(
            credential(&with(&["Bearer a"]), Some("access_tokens=1")),
            Credential::Bearer("a")
        );
    }
}
