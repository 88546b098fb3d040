//! The seam between the HTTP service and whatever knows what a token
//! means: a JWT checked against the issuer's keys, an introspection
//! endpoint, or a verifier of your own.

use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};

use super::{Principal, scopes};

/// The future a [`TokenVerifier`] answers with.
pub type VerifyFuture<'a> = Pin<Box<dyn Future<Output = Result<Principal, VerifyError>> + Send + 'a>>;

/// Checks a bearer token and says who it was issued for.
///
/// A verifier checks the token's signature or asks its issuer, its
/// expiry, and that it was issued for this server: the returned
/// [`Principal::audience`] must name the server's resource URI
/// ([`crate::auth::AuthConfig::resource`]), or the service refuses the
/// token all the same. It must answer in bounded time (a slow issuer is
/// [`VerifyError::Unavailable`], not a hang), and never log the token.
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies `token` (the bearer credential, without `Bearer `).
    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a>;
}

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The token is malformed, forged, expired, revoked or for another
    /// resource: 401 with `error="invalid_token"`. The reason is for the
    /// server's log and the challenge's description; it never contains the
    /// token.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The token cannot be checked now (the issuer's keys or its
    /// introspection endpoint cannot be reached): 503.
    #[error("cannot verify tokens now: {0}")]
    Unavailable(String),
}

/// The caller that verified claims describe (of a JWT, or of an
/// introspection answer): `iss`, `sub` (or, for a client acting for
/// itself, its `client_id`), `client_id` or `azp`, `scope` (or `scp`),
/// `aud` and `exp`.
pub(crate) fn principal_of(claims: Map<String, Value>) -> Result<Principal, VerifyError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    let list = |value: Option<&Value>| match value {
        Some(Value::String(one)) => scopes::parse(one),
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    let client_id = text("client_id").or_else(|| text("azp"));
    let subject = text("sub")
        .or_else(|| client_id.clone())
        .ok_or_else(|| VerifyError::Invalid("no sub and no client_id".to_owned()))?;
    let mut principal = Principal::new(text("iss").unwrap_or_default(), subject)
        .with_scopes(list(claims.get("scope").or_else(|| claims.get("scp"))))
        .with_audience(list(claims.get("aud")));
    principal.client_id = client_id;
    principal.expires_at = claims.get("exp").and_then(Value::as_u64);
    principal = principal.with_claims(claims);
    // Once here, rather than by every request that reads it.
    principal.caller_key();
    Ok(principal)
}
