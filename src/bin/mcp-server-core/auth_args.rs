//! The authorization flags (`--auth-*`): the server as an OAuth 2.1
//! resource server on its HTTP listener. TCP and stdio are not affected.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use mcp_server_core::auth::{Algorithm, Auth, AuthConfig, IntrospectionVerifier, JwtVerifier};

/// The `--auth-*` flags.
#[derive(Debug, clap::Args)]
pub(crate) struct AuthArgs {
    /// An authorization server whose tokens are accepted (its issuer URI;
    /// repeatable). Its keys are found through its RFC 8414 or OpenID
    /// metadata. Turns authorization on for --http (with --auth-resource).
    #[arg(long, value_name = "URL")]
    pub(crate) auth_issuer: Vec<String>,

    /// The canonical URI of this server's MCP endpoint, as clients reach it
    /// (https://mcp.example.com/mcp): tokens must be issued for it.
    /// Required when authorization is on; never taken from Host.
    #[arg(long, value_name = "URL")]
    pub(crate) auth_resource: Option<String>,

    /// Where the issuer's keys are (a JWKS), instead of discovering it
    /// (with one --auth-issuer).
    #[arg(long, value_name = "URL", requires = "auth_issuer")]
    pub(crate) auth_jwks_uri: Option<String>,

    /// Check tokens with this RFC 7662 introspection endpoint instead of
    /// as JWTs (with --auth-client-id and --auth-client-secret-file).
    #[arg(long, value_name = "URL", requires_all = ["auth_client_id", "auth_client_secret_file"])]
    pub(crate) auth_introspection_url: Option<String>,

    /// The client id this server introspects as.
    #[arg(long, value_name = "ID", requires = "auth_introspection_url")]
    pub(crate) auth_client_id: Option<String>,

    /// A file holding the client secret this server introspects with.
    #[arg(long, value_name = "PATH", requires = "auth_introspection_url")]
    pub(crate) auth_client_secret_file: Option<PathBuf>,

    /// The scopes the protected-resource metadata lists (comma-separated).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub(crate) auth_scopes_supported: Vec<String>,

    /// A scope every request needs (repeatable).
    #[arg(long, value_name = "SCOPE")]
    pub(crate) auth_required_scope: Vec<String>,

    /// A scope calling a tool needs, as TOOL=SCOPE (repeatable).
    #[arg(long, value_name = "TOOL=SCOPE", value_parser = pair)]
    pub(crate) auth_tool_scope: Vec<(String, String)>,

    /// A broader scope that implies a narrower one, as BROAD=NARROW
    /// (repeatable).
    #[arg(long, value_name = "BROAD=NARROW", value_parser = pair)]
    pub(crate) auth_scope_implies: Vec<(String, String)>,

    /// The JWT signature algorithms accepted (comma-separated; asymmetric
    /// ones only). Default: RS256..RS512, PS256..PS512, ES256, ES384, EdDSA.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = algorithm)]
    pub(crate) auth_algorithms: Vec<Algorithm>,

    /// Clock skew tolerated on exp and nbf, in seconds.
    #[arg(long, value_name = "N", default_value_t = 60)]
    pub(crate) auth_leeway_secs: u64,

    /// How long an issuer's fetched keys are used before they are fetched
    /// again, in seconds (a token with an unknown key makes a fetch
    /// sooner). A key the issuer drops is refused within this time.
    #[arg(long, value_name = "N", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) auth_jwks_ttl_secs: u64,

    /// List in tools/list only the tools the caller's token may call
    /// (by default every tool is listed, and a call without the tool's
    /// scopes is answered 403).
    #[arg(long, requires = "auth_resource")]
    pub(crate) auth_hide_uncallable_tools: bool,

    /// Most 2025 HTTP sessions one authenticated caller may hold: at the
    /// quota its least recently active idle session ends to make room,
    /// and with none idle it gets 429.
    #[arg(long, value_name = "N", requires = "auth_resource", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_sessions_per_principal: Option<u64>,
}

fn pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a.to_owned(), b.to_owned())),
        _ => Err(format!("{text:?}: expected NAME=SCOPE")),
    }
}

fn algorithm(text: &str) -> Result<Algorithm, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not a JWT algorithm"))
}

impl AuthArgs {
    /// The authorization the flags ask for, or `None` when they ask for
    /// none.
    pub(crate) fn auth(&self) -> anyhow::Result<Option<Auth>> {
        let Some(resource) = &self.auth_resource else {
            if !self.auth_issuer.is_empty() || self.auth_introspection_url.is_some() {
                bail!("--auth-resource is required when authorization is on");
            }
            return Ok(None);
        };
        if self.auth_issuer.is_empty() {
            bail!("authorization needs at least one --auth-issuer (clients are sent to it)");
        }
        let leeway = Duration::from_secs(self.auth_leeway_secs);
        let mut config = AuthConfig::new(resource)?
            .leeway(leeway)
            .hide_uncallable_tools(self.auth_hide_uncallable_tools);
        for issuer in &self.auth_issuer {
            config = config.authorization_server(issuer)?;
        }
        config = config.scopes_supported(self.auth_scopes_supported.iter().map(String::as_str))?;
        for scope in &self.auth_required_scope {
            config = config.required_scope(scope)?;
        }
        for (tool, scope) in &self.auth_tool_scope {
            config = config.tool_scope(tool, scope)?;
        }
        for (broad, narrow) in &self.auth_scope_implies {
            config = config.scope_implies(broad, narrow)?;
        }
        if let Some(url) = &self.auth_introspection_url {
            let id = self.auth_client_id.as_deref().unwrap_or_default();
            let path = self.auth_client_secret_file.as_ref().expect("clap requires it");
            let secret =
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let verifier = IntrospectionVerifier::new(url, id, secret.trim(), resource)?;
            return Ok(Some(Auth::new(config, verifier)));
        }
        let mut jwt = JwtVerifier::builder(resource)
            .leeway(leeway)
            .jwks_ttl(Duration::from_secs(self.auth_jwks_ttl_secs));
        if !self.auth_algorithms.is_empty() {
            jwt = jwt.algorithms(self.auth_algorithms.iter().copied());
        }
        jwt = match (&self.auth_jwks_uri, self.auth_issuer.as_slice()) {
            (Some(jwks), [issuer]) => jwt.issuer_with_jwks(issuer, jwks),
            (Some(_), _) => bail!("--auth-jwks-uri goes with exactly one --auth-issuer"),
            (None, issuers) => issuers.iter().fold(jwt, |jwt, issuer| jwt.issuer(issuer)),
        };
        Ok(Some(Auth::new(config, jwt.build()?)))
    }
}
