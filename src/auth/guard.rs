//! [`Auth`]: a configuration and a verifier, and what the HTTP service
//! asks of them: who the caller is, whether it may do what it asks, and
//! the challenge when not.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::bearer::{Credential, credential};
use super::challenge::{self, Error};
use super::{AuthConfig, Principal, TokenVerifier, VerifyError, metadata};
use crate::sync::Arc;

/// The longest a verifier may take before the request is answered 503.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(15);

/// Authorization for the HTTP service: what it requires
/// ([`AuthConfig`]) and who checks tokens ([`TokenVerifier`]). Cheap to
/// clone.
#[derive(Clone)]
pub struct Auth {
    config: Arc<AuthConfig>,
    verifier: Arc<dyn TokenVerifier>,
    /// Where the metadata is served (asked of every request).
    paths: Arc<[String; 2]>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("resource", &self.config.resource)
            .finish_non_exhaustive()
    }
}

/// A request refused by authorization: its status, its challenge (for
/// `WWW-Authenticate`) and a message for the JSON-RPC error.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) challenge: Option<String>,
    pub(crate) message: String,
}

impl Auth {
    /// Requires what `config` says, with tokens checked by `verifier`.
    pub fn new(config: AuthConfig, verifier: impl TokenVerifier) -> Self {
        Self {
            paths: Arc::new(metadata::paths(&config)),
            config: Arc::new(config),
            verifier: Arc::new(verifier),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// The paths the protected-resource metadata is served at: the
    /// path-suffixed well-known URI of the resource, then the root one. The
    /// built-in driver serves both; under your own router, route them to
    /// the same [`crate::McpService`] as the endpoint.
    pub fn metadata_paths(&self) -> &[String; 2] {
        &self.paths
    }

    /// The URI of the metadata, as challenges name it.
    pub fn metadata_url(&self) -> String {
        metadata::url(&self.config)
    }

    /// The protected-resource metadata document (RFC 9728).
    pub fn metadata_document(&self) -> Value {
        metadata::document(&self.config)
    }

    /// Every scope a request of `method` (for `tools/call`, of `tool`,
    /// which itself requires `tool_requires`) needs.
    pub(crate) fn needed(&self, method: &str, tool: Option<&str>, tool_requires: &[String]) -> Vec<String> {
        self.config.needed(method, tool, tool_requires)
    }

    /// The caller of a request with `headers` and URI `query`; `needed`
    /// (what the request is known to need so far) goes in the challenge.
    pub(crate) async fn authenticate(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        needed: &[String],
    ) -> Result<Principal, Refusal> {
        let token = match credential(headers, query) {
            Credential::Bearer(token) => token,
            Credential::Missing => {
                return Err(self.refusal(
                    StatusCode::UNAUTHORIZED,
                    None,
                    needed,
                    "a bearer token is required",
                ));
            }
            Credential::Malformed(why) => return Err(self.invalid(why, needed)),
            Credential::BadRequest(why) => {
                return Err(self.refusal(
                    StatusCode::BAD_REQUEST,
                    Some((Error::InvalidRequest, why)),
                    needed,
                    why,
                ));
            }
        };
        let verified = tokio::time::timeout(VERIFY_TIMEOUT, self.verifier.verify(token))
            .await
            .unwrap_or_else(|_| {
                Err(VerifyError::Unavailable(
                    "the token verifier did not answer in time".to_owned(),
                ))
            });
        let principal = match verified {
            Ok(principal) => principal,
            Err(VerifyError::Invalid(why)) => {
                tracing::debug!(reason = %why, "bearer token refused");
                return Err(self.invalid(&why, needed));
            }
            Err(VerifyError::Unavailable(why)) => {
                tracing::warn!(reason = %why, "bearer token not verifiable now");
                return Err(Refusal {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    challenge: None,
                    message: format!("tokens cannot be verified now: {why}"),
                });
            }
        };
        if !principal.audience.iter().any(|aud| *aud == self.config.resource) {
            return Err(self.invalid("the token was not issued for this resource", needed));
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        if principal
            .expires_at
            .is_some_and(|exp| exp.saturating_add(self.config.leeway.as_secs()) < now.as_secs())
        {
            return Err(self.invalid("the token has expired", needed));
        }
        Ok(principal)
    }

    /// Whether `principal` may do what needs `needed`: 403 naming every
    /// scope needed if not.
    pub(crate) fn authorize(&self, principal: &Principal, needed: &[String]) -> Result<(), Refusal> {
        if self.config.satisfies(&principal.scopes, needed) {
            return Ok(());
        }
        let why = "the token lacks a scope this request needs";
        Err(self.refusal(
            StatusCode::FORBIDDEN,
            Some((Error::InsufficientScope, why)),
            needed,
            why,
        ))
    }

    fn invalid(&self, why: &str, needed: &[String]) -> Refusal {
        self.refusal(
            StatusCode::UNAUTHORIZED,
            Some((Error::InvalidToken, why)),
            needed,
            why,
        )
    }

    fn refusal(
        &self,
        status: StatusCode,
        error: Option<(Error, &str)>,
        needed: &[String],
        why: &str,
    ) -> Refusal {
        let scope = if needed.is_empty() {
            &self.config.scopes_supported
        } else {
            needed
        };
        Refusal {
            status,
            challenge: Some(challenge::header(&self.config, error, scope)),
            message: why.to_owned(),
        }
    }
}
