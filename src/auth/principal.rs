//! Who made a request, as a token verifier found it: a leaf that the
//! engine (sessions, tasks, `requestState`) and the handler's context read
//! without knowing how the caller was authenticated.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

// The standard `Arc` and `OnceLock` in every build that has this module
// (shuttle's `Arc` is std's), so the public `claims` field keeps its type.
use crate::sync::{Arc, OnceLock};

/// The authenticated caller of an HTTP request: what a
/// [`TokenVerifier`](crate::auth::TokenVerifier) found in its bearer
/// token. Never the token itself.
///
/// Handlers read it with
/// [`RequestContext::principal`](crate::RequestContext::principal). A
/// tower layer of your own in front of [`crate::McpService`] may put one in
/// the request's extensions too; the server then treats it the same way.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Principal {
    /// The authorization server that issued the token (`iss`).
    pub issuer: String,
    /// The user or service the token was issued for (`sub`).
    pub subject: String,
    /// The OAuth client that obtained the token (`client_id`, or `azp`).
    pub client_id: Option<String>,
    /// The scopes the token grants.
    pub scopes: Vec<String>,
    /// The resources the token is for (`aud`).
    pub audience: Vec<String>,
    /// When the token expires (`exp`, seconds since the Unix epoch).
    pub expires_at: Option<u64>,
    /// Every claim of the token (or of its introspection answer), shared
    /// by every request that presents the same token.
    pub claims: Arc<Map<String, Value>>,
    /// [`Principal::caller_key`], once computed.
    key: OnceLock<Arc<str>>,
}

impl PartialEq for Principal {
    fn eq(&self, other: &Self) -> bool {
        self.issuer == other.issuer
            && self.subject == other.subject
            && self.client_id == other.client_id
            && self.scopes == other.scopes
            && self.audience == other.audience
            && self.expires_at == other.expires_at
            && self.claims == other.claims
    }
}

impl Principal {
    /// A caller with no scopes, audience, expiry or other claims.
    pub fn new(issuer: impl Into<String>, subject: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            subject: subject.into(),
            client_id: None,
            scopes: Vec::new(),
            audience: Vec::new(),
            expires_at: None,
            claims: Arc::new(Map::new()),
            key: OnceLock::new(),
        }
    }

    /// With the OAuth client that obtained the token.
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// With the scopes the token grants.
    pub fn with_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// With the resources the token is for.
    pub fn with_audience<S: Into<String>>(mut self, audience: impl IntoIterator<Item = S>) -> Self {
        self.audience = audience.into_iter().map(Into::into).collect();
        self
    }

    /// With its expiry (seconds since the Unix epoch).
    pub fn with_expiry(mut self, expires_at: u64) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// With the token's claims.
    pub fn with_claims(mut self, claims: Map<String, Value>) -> Self {
        self.claims = Arc::new(claims);
        self
    }

    /// True if the token grants `scope` itself (not through a scope that
    /// implies it: the server's configuration decides those).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// True if `other` is the same caller: the same issuer, subject and
    /// client. What a session, a task and a `requestState` are bound to.
    pub fn same_caller(&self, other: &Principal) -> bool {
        self.issuer == other.issuer && self.subject == other.subject && self.client_id == other.client_id
    }

    /// A key naming this caller (issuer, subject and client) that reveals
    /// none of them: 32 hex digits of a SHA-256 over the three, computed
    /// once. Equal keys mean [`Principal::same_caller`].
    pub(crate) fn caller_key(&self) -> Arc<str> {
        Arc::clone(self.key.get_or_init(|| {
            let mut hash = Sha256::new();
            for part in [
                &self.issuer,
                &self.subject,
                self.client_id.as_deref().unwrap_or_default(),
            ] {
                // Length-prefixed, so that no two triples hash alike.
                hash.update((part.len() as u64).to_be_bytes());
                hash.update(part.as_bytes());
            }
            hash.update([u8::from(self.client_id.is_some())]);
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let digits: String = hash.finalize()[..16]
                .iter()
                .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]])
                .map(char::from)
                .collect();
            Arc::from(digits)
        }))
    }
}
