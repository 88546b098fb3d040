//! RFC 9728 protected-resource metadata: where clients learn which
//! authorization servers issue tokens for this endpoint, and the URI of
//! that document, which every challenge names.

use serde_json::{Value, json};

use super::AuthConfig;

/// The well-known prefix of RFC 9728.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The resource's path (`/mcp` of `https://host/mcp`), empty for a
/// resource at the root.
fn resource_path(config: &AuthConfig) -> String {
    let uri: http::Uri = config.resource.parse().expect("checked by AuthConfig::new");
    uri.path().trim_end_matches('/').to_owned()
}

/// The paths the metadata is served at: the path-suffixed well-known URI
/// (`/.well-known/oauth-protected-resource/mcp`), which clients try first,
/// and the root one, which older clients try.
pub(crate) fn paths(config: &AuthConfig) -> [String; 2] {
    [
        format!("{WELL_KNOWN}{}", resource_path(config)),
        WELL_KNOWN.to_owned(),
    ]
}

/// The metadata's URI, for the `resource_metadata` of a challenge: built
/// from the configured resource, never from a request's `Host`.
pub(crate) fn url(config: &AuthConfig) -> String {
    let uri: http::Uri = config.resource.parse().expect("checked by AuthConfig::new");
    let scheme = uri.scheme_str().unwrap_or("https");
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    format!("{scheme}://{authority}{}", paths(config)[0])
}

/// The metadata document.
pub(crate) fn document(config: &AuthConfig) -> Value {
    let mut doc = json!({
        "resource": config.resource,
        "authorization_servers": config.authorization_servers,
        "bearer_methods_supported": ["header"],
    });
    if !config.scopes_supported.is_empty() {
        doc["scopes_supported"] = json!(config.scopes_supported);
    }
    doc
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_lives_at_the_path_suffixed_well_known_uri() {
        let config = AuthConfig::new("https://mcp.example.com:8443/mcp").unwrap();
        assert_eq!(paths(&config)[0], "/.well-known/oauth-protected-resource/mcp");
        assert_eq!(
            url(&config),
            "https://mcp.example.com:8443/.well-known/oauth-protected-resource/mcp"
        );
        let root = AuthConfig::new("https://mcp.example.com/").unwrap();
        assert_eq!(paths(&root)[0], "/.well-known/oauth-protected-resource");
        assert_eq!(
            url(&root),
            "https://mcp.example.com/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn the_document_names_the_resource_and_its_servers() {
        let config = AuthConfig::new("https://a.example/mcp")
            .and_then(|c| c.authorization_server("https://as.example"))
            .and_then(|c| c.scopes_supported(["mcp", "offline_access"]))
            .unwrap();
        let doc = document(&config);
        assert_eq!(doc["resource"], "https://a.example/mcp");
        assert_eq!(doc["authorization_servers"], json!(["https://as.example"]));
        assert_eq!(doc["scopes_supported"], json!(["mcp"]));
    }
}
