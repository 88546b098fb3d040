//! The `WWW-Authenticate: Bearer` challenge of a refused request (RFC 6750
//! section 3, RFC 9728 section 5.1): where the metadata is, the scopes the
//! request needs, and, when a token was presented, what was wrong with it.

use super::scopes::is_scope_token;
use super::{AuthConfig, metadata};

/// The error codes of RFC 6750 section 3.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Error {
    /// 400: the request itself is malformed.
    InvalidRequest,
    /// 401: the token is malformed, expired, revoked or not for us.
    InvalidToken,
    /// 403: the token lacks a scope the request needs.
    InsufficientScope,
}

impl Error {
    fn code(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
        }
    }
}

/// The challenge's header value. `scope` lists every scope the request
/// needs (left out when empty); `error` is `None` when no token was
/// presented.
pub(crate) fn header(config: &AuthConfig, error: Option<(Error, &str)>, scope: &[String]) -> String {
    let mut value = format!("Bearer resource_metadata=\"{}\"", metadata::url(config));
    // Only scope tokens (no quote, backslash or space) can be quoted.
    let scope: Vec<&str> = scope
        .iter()
        .map(String::as_str)
        .filter(|s| is_scope_token(s))
        .collect();
    if !scope.is_empty() {
        value += &format!(", scope=\"{}\"", scope.join(" "));
    }
    if let Some((error, description)) = error {
        value += &format!(
            ", error=\"{}\", error_description=\"{}\"",
            error.code(),
            quotable(description)
        );
    }
    value
}

/// `description` with what RFC 6750 does not allow in `error_description`
/// (outside `%x20-21 / %x23-5B / %x5D-7E`) replaced by `?`.
fn quotable(description: &str) -> String {
    description
        .chars()
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_names_the_metadata_the_scopes_and_the_error() {
        let config = AuthConfig::new("https://a.example/mcp").unwrap();
        let meta = "resource_metadata=\"https://a.example/.well-known/oauth-protected-resource/mcp\"";
        assert_eq!(header(&config, None, &[]), format!("Bearer {meta}"));
        let scope = ["read".to_owned(), "write".to_owned()];
        assert_eq!(
            header(
                &config,
                Some((Error::InsufficientScope, "needs \"write\"\n")),
                &scope
            ),
            format!(
                "Bearer {meta}, scope=\"read write\", error=\"insufficient_scope\", error_description=\"needs ?write??\""
            )
        );
    }
}
