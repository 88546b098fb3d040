//! What a protected MCP endpoint requires: its canonical URI, the
//! authorization servers that issue its tokens, and the scopes each
//! request, method and tool needs.

use std::collections::HashMap;
use std::time::Duration;

use super::scopes::{Implications, OFFLINE_ACCESS, is_scope_token};

/// How the HTTP service authorizes requests (see [`crate::auth`]).
///
/// `resource` is the canonical URI of the MCP endpoint
/// (`https://mcp.example.com/mcp`): tokens must be issued for it (their
/// audience), and the protected-resource metadata and every challenge name
/// it. It comes from configuration, never from a request's `Host`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthConfig {
    /// The canonical URI of the MCP endpoint.
    pub resource: String,
    /// The authorization servers (their issuer URIs) clients are sent to.
    pub authorization_servers: Vec<String>,
    /// The scopes the metadata lists (`offline_access` is never listed).
    pub scopes_supported: Vec<String>,
    /// Scopes every request needs.
    pub required_scopes: Vec<String>,
    /// Scopes a `tools/call` of a tool needs, by tool name (besides what
    /// the tool itself requires, [`crate::Tool::requires_scopes`]).
    pub tool_scopes: HashMap<String, Vec<String>>,
    /// Scopes a request of a method needs, by method name.
    pub method_scopes: HashMap<String, Vec<String>>,
    /// How much clock skew `exp` and `nbf` tolerate.
    pub leeway: Duration,
    /// Whether `tools/list` leaves out the tools the caller's token may
    /// not call (default false: every tool is listed, and calling one
    /// without its scopes is answered 403 with the scopes it needs).
    pub hide_uncallable_tools: bool,
    implies: Implications,
}

/// Why an [`AuthConfig`] was refused.
#[derive(Debug, thiserror::Error)]
#[error("auth configuration: {0}")]
pub struct AuthConfigError(String);

impl AuthConfigError {
    pub(crate) fn new(why: String) -> Self {
        Self(why)
    }
}

impl AuthConfig {
    /// A configuration for the endpoint at `resource` (an absolute `https`
    /// URI, or `http` on a loopback host, without a fragment).
    pub fn new(resource: impl Into<String>) -> Result<Self, AuthConfigError> {
        let resource = resource.into();
        check_uri("the resource", &resource)?;
        Ok(Self {
            resource,
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
            required_scopes: Vec::new(),
            tool_scopes: HashMap::new(),
            method_scopes: HashMap::new(),
            leeway: Duration::from_secs(60),
            hide_uncallable_tools: false,
            implies: Implications::default(),
        })
    }

    /// Adds an authorization server (its issuer URI).
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Result<Self, AuthConfigError> {
        let issuer = issuer.into();
        check_uri("an authorization server", &issuer)?;
        self.authorization_servers.push(issuer);
        Ok(self)
    }

    /// The scopes the metadata lists.
    pub fn scopes_supported<S: Into<String>>(
        mut self,
        scopes: impl IntoIterator<Item = S>,
    ) -> Result<Self, AuthConfigError> {
        self.scopes_supported = checked(scopes)?;
        self.scopes_supported.retain(|s| s != OFFLINE_ACCESS);
        Ok(self)
    }

    /// A scope every request needs.
    pub fn required_scope(mut self, scope: impl Into<String>) -> Result<Self, AuthConfigError> {
        self.required_scopes.extend(checked([scope])?);
        Ok(self)
    }

    /// A scope a `tools/call` of `tool` needs.
    pub fn tool_scope(
        mut self,
        tool: impl Into<String>,
        scope: impl Into<String>,
    ) -> Result<Self, AuthConfigError> {
        let scope = checked([scope])?;
        self.tool_scopes.entry(tool.into()).or_default().extend(scope);
        Ok(self)
    }

    /// A scope every request of `method` needs.
    pub fn method_scope(
        mut self,
        method: impl Into<String>,
        scope: impl Into<String>,
    ) -> Result<Self, AuthConfigError> {
        let scope = checked([scope])?;
        self.method_scopes.entry(method.into()).or_default().extend(scope);
        Ok(self)
    }

    /// `broad` implies `narrow`: a token with `broad` may do what needs
    /// `narrow` (transitively).
    pub fn scope_implies(
        mut self,
        broad: impl Into<String>,
        narrow: impl Into<String>,
    ) -> Result<Self, AuthConfigError> {
        let pair = checked([broad.into(), narrow.into()])?;
        self.implies.add(&pair[0], &pair[1]);
        Ok(self)
    }

    /// How much clock skew `exp` and `nbf` tolerate (default 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Sets [`AuthConfig::hide_uncallable_tools`]: with `true`, a caller
    /// sees listed only the tools whose scopes its token holds (a list of
    /// its own, marked private to caches).
    pub fn hide_uncallable_tools(mut self, hide: bool) -> Self {
        self.hide_uncallable_tools = hide;
        self
    }

    /// True if `granted` covers every scope of `needed`, broader scopes
    /// standing for the narrower ones they imply.
    pub fn satisfies(&self, granted: &[String], needed: &[String]) -> bool {
        self.implies.satisfies(granted, needed)
    }

    /// Every scope a request of `method` (for `tools/call`, of tool
    /// `tool`, which itself requires `tool_requires`) needs, without
    /// duplicates, in a stable order.
    pub(crate) fn needed(&self, method: &str, tool: Option<&str>, tool_requires: &[String]) -> Vec<String> {
        let mut needed = self.required_scopes.clone();
        let from_method = self.method_scopes.get(method).into_iter().flatten();
        let from_tool = tool.and_then(|t| self.tool_scopes.get(t)).into_iter().flatten();
        for scope in from_method.chain(from_tool).chain(tool_requires) {
            if !needed.contains(scope) {
                needed.push(scope.clone());
            }
        }
        needed.retain(|s| s != OFFLINE_ACCESS);
        needed
    }
}

fn checked<S: Into<String>>(scopes: impl IntoIterator<Item = S>) -> Result<Vec<String>, AuthConfigError> {
    scopes
        .into_iter()
        .map(Into::into)
        .map(|s| {
            if is_scope_token(&s) {
                Ok(s)
            } else {
                Err(AuthConfigError(format!(
                    "{s:?} is not a scope (RFC 6749 section 3.3)"
                )))
            }
        })
        .collect()
}

/// An absolute `https` URI, or `http` on a loopback host; no fragment,
/// no quote (it is quoted in challenges).
pub(crate) fn check_uri(what: &str, uri: &str) -> Result<(), AuthConfigError> {
    let refuse = |why: &str| Err(AuthConfigError(format!("{what} {uri:?} {why}")));
    let Ok(parsed) = uri.parse::<http::Uri>() else {
        return refuse("is not a URI");
    };
    let (Some(scheme), Some(host)) = (parsed.scheme_str(), parsed.host()) else {
        return refuse("is not an absolute URI");
    };
    if uri.contains('#') || uri.contains('"') || uri.contains('\\') {
        return refuse("has a fragment or a quote");
    }
    match scheme {
        "https" => Ok(()),
        "http" if is_loopback(host) => Ok(()),
        "http" => refuse("is plain http on a host that is not loopback (use https)"),
        _ => refuse("is neither https nor http"),
    }
}

pub(crate) fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    #[test]
    fn the_resource_is_https_or_loopback_http_without_fragment() {
        assert!(AuthConfig::new("https://mcp.example.com/mcp").is_ok());
        assert!(AuthConfig::new("http://127.0.0.1:8080/mcp").is_ok());
        assert!(AuthConfig::new("http://[::1]:8080/mcp").is_ok());
        assert!(AuthConfig::new("http://localhost/mcp").is_ok());
        for bad in [
            "http://mcp.example.com/mcp",
            "/mcp",
            "mcp.example.com",
            "https://a/mcp#x",
            "ftp://a/b",
            "https://a/\"b",
        ] {
            assert!(AuthConfig::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_needed_scopes_gather_request_method_and_tool_once_each() {
        let config = AuthConfig::new("https://a/mcp")
            .and_then(|c| c.required_scope("mcp"))
            .and_then(|c| c.method_scope("tools/call", "tools"))
            .and_then(|c| c.tool_scope("rm", "admin"))
            .and_then(|c| c.tool_scope("rm", "mcp"))
            .unwrap();
        let own = vec!["danger".to_owned(), "offline_access".to_owned()];
        assert_eq!(
            config.needed("tools/call", Some("rm"), &own),
            ["mcp", "tools", "admin", "danger"]
        );
        assert_eq!(config.needed("tools/list", None, &[]), ["mcp"]);
    }

    #[test]
    fn offline_access_is_never_listed() {
        let config = AuthConfig::new("https://a/mcp")
            .and_then(|c| c.scopes_supported(["read", "offline_access"]))
            .unwrap();
        assert_eq!(config.scopes_supported, ["read"]);
        assert!(
            AuthConfig::new("https://a/mcp")
                .unwrap()
                .required_scope("a b")
                .is_err()
        );
    }
}
