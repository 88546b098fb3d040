//! The header checks of Streamable HTTP: `Host` and `Origin` (DNS
//! rebinding), `Accept`, `Content-Type`, and the `=?base64?...?=` form of
//! MCP header values.

use base64::Engine;
use http::header::{ACCEPT, AsHeaderName, CONTENT_TYPE, HOST, HeaderName, ORIGIN};
use http::{HeaderMap, HeaderValue};

use crate::config::HttpConfig;

// Header names as `HeaderName`s: looking one up by `&str` parses the name
// on every lookup.
/// The session id header.
pub(crate) const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
/// The protocol version header.
pub(crate) const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
/// The method header (2026-07-28).
pub(crate) const METHOD: HeaderName = HeaderName::from_static("mcp-method");
/// The name header (2026-07-28): a tool or prompt name, or a resource URI.
pub(crate) const NAME: HeaderName = HeaderName::from_static("mcp-name");
/// The header with which a client resumes an event stream.
pub(crate) const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// A header's value as text, if present and visible ASCII.
pub(crate) fn text(headers: &HeaderMap, name: impl AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The host part of `host[:port]` (an IPv6 literal keeps its brackets).
fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.find(']').map_or(authority, |end| &authority[..=end]);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// True if the request's `Host` names an allowed host (any, when the list
/// is empty). A request without `Host` is refused unless any is allowed.
pub(crate) fn host_allowed(config: &HttpConfig, headers: &HeaderMap) -> bool {
    if config.allowed_hosts.is_empty() {
        return true;
    }
    let Some(host) = text(headers, HOST) else {
        return false;
    };
    let host = host_of(host);
    config.allowed_hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
}

/// True if the request has no `Origin`, or one that is allowed: equal to an
/// entry with a scheme, or whose host is an entry without one.
pub(crate) fn origin_allowed(config: &HttpConfig, headers: &HeaderMap) -> bool {
    if config.allowed_origins.is_empty() {
        return true;
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let host = origin.split_once("://").map(|(_, rest)| host_of(rest));
    config.allowed_origins.iter().any(|allowed| {
        if allowed.contains("://") {
            allowed.eq_ignore_ascii_case(origin)
        } else {
            host.is_some_and(|h| allowed.eq_ignore_ascii_case(h))
        }
    })
}

/// Which of the two media types an MCP server answers with the `Accept`
/// headers admit, by name or wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Accepted {
    /// `application/json`.
    pub(crate) json: bool,
    /// `text/event-stream`.
    pub(crate) sse: bool,
}

/// Reads the `Accept` headers once for both media types (as bytes: a
/// value need not be text to be matched).
pub(crate) fn accepted(headers: &HeaderMap) -> Accepted {
    let mut accepted = Accepted::default();
    for item in headers.get_all(ACCEPT).iter().flat_map(media_ranges) {
        let media = item.split(|b| *b == b';').next().unwrap_or_default().trim_ascii();
        let is = |name: &[u8]| media.eq_ignore_ascii_case(name);
        accepted.json |= is(b"application/json") || is(b"application/*") || media == b"*/*";
        accepted.sse |= is(b"text/event-stream") || is(b"text/*") || media == b"*/*";
    }
    accepted
}

/// The comma-separated items of one `Accept` value.
fn media_ranges(value: &HeaderValue) -> impl Iterator<Item = &[u8]> {
    value.as_bytes().split(|b| *b == b',')
}

/// True if the body is declared as JSON.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    text(headers, CONTENT_TYPE)
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// An MCP header's value, decoded from `=?base64?...?=` when it carries
/// that form. `Err(())` for a malformed base64 value or one that is not
/// UTF-8.
pub(crate) fn decoded(value: &str) -> Result<String, ()> {
    let Some(payload) = value.strip_prefix("=?base64?").and_then(|v| v.strip_suffix("?=")) else {
        return Ok(value.to_owned());
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload)
        .map_err(|_| ())?;
    String::from_utf8(bytes).map_err(|_| ())
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn loopback_hosts_pass_and_others_do_not() {
        let config = HttpConfig::default();
        for host in ["localhost:8080", "127.0.0.1", "[::1]:9", "LOCALHOST"] {
            assert!(host_allowed(&config, &headers(&[("host", host)])), "{host}");
        }
        for host in ["evil.example.com", "evil.example.com:80", "127.0.0.2"] {
            assert!(!host_allowed(&config, &headers(&[("host", host)])), "{host}");
        }
        assert!(!host_allowed(&config, &headers(&[])));
        assert!(host_allowed(
            &HttpConfig::default().allowed_hosts(Vec::<String>::new()),
            &headers(&[])
        ));
    }

    #[test]
    fn origins_are_matched_by_host_or_in_full() {
        let config = HttpConfig::default();
        assert!(origin_allowed(&config, &headers(&[])));
        assert!(origin_allowed(
            &config,
            &headers(&[("origin", "http://localhost:3000")])
        ));
        assert!(!origin_allowed(
            &config,
            &headers(&[("origin", "http://evil.example.com")])
        ));
        assert!(!origin_allowed(&config, &headers(&[("origin", "null")])));
        let exact = HttpConfig::default().allowed_origins(["https://app.example.com"]);
        assert!(origin_allowed(
            &exact,
            &headers(&[("origin", "https://app.example.com")])
        ));
        assert!(!origin_allowed(
            &exact,
            &headers(&[("origin", "http://app.example.com")])
        ));
    }

    #[test]
    fn accept_lists_and_wildcards() {
        let both = Accepted {
            json: true,
            sse: true,
        };
        let accept = |value: &'static str| accepted(&headers(&[("accept", value)]));
        assert_eq!(accept("application/json, text/event-stream;q=0.9"), both);
        assert_eq!(
            accept("Application/JSON"),
            Accepted {
                json: true,
                sse: false
            }
        );
        assert_eq!(
            accept(" text/*"),
            Accepted {
                json: false,
                sse: true
            }
        );
        assert_eq!(
            accept("application/*,text/html"),
            Accepted {
                json: true,
                sse: false
            }
        );
        assert_eq!(accept("*/*"), both);
        assert_eq!(accepted(&headers(&[])), Accepted::default());
    }

    #[test]
    fn content_type_with_parameters() {
        assert!(is_json(&headers(&[(
            "content-type",
            "application/json; charset=utf-8"
        )])));
        assert!(!is_json(&headers(&[("content-type", "text/plain")])));
        assert!(!is_json(&headers(&[])));
    }

    #[test]
    fn base64_header_values() {
        assert_eq!(decoded("echo").unwrap(), "echo");
        assert_eq!(decoded("=?base64?aMOpbGxv?=").unwrap(), "h\u{e9}llo");
        assert!(decoded("=?base64?***?=").is_err());
    }
}
