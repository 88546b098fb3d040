//! [`JwtVerifier`]: JWT access tokens (RFC 9068) checked against their
//! issuer's published keys.
//!
//! A token is accepted only if its `iss` is one of the configured issuers
//! (exactly), its algorithm is on the allow-list (asymmetric only) and
//! fits the key its `kid` names in that issuer's JWKS, its signature
//! verifies, it has `exp`, `iss` and `aud`, `aud` names the resource, it
//! has not expired and `nbf` has passed (both within the leeway), and any
//! `crit` header it has is understood. Signatures and claims are checked
//! by the `jsonwebtoken` crate; this module decides which key and which
//! rules.

mod cache;
mod keys;

use std::time::Duration;

use jsonwebtoken::{Algorithm, Header, Validation};
use serde_json::{Map, Value};

use self::cache::Verified;
use self::keys::{CachePolicy, IssuerKeys};
use super::bearer::MAX_TOKEN_BYTES;
use super::config::{AuthConfigError, check_uri};
use super::fetch::Fetcher;
use super::verifier::principal_of;
use super::{Principal, TokenVerifier, VerifyError, VerifyFuture};
use crate::sync::Arc;

/// The algorithms accepted unless configured otherwise: every asymmetric
/// one `jsonwebtoken` verifies.
pub const DEFAULT_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Verifies JWT access tokens with the keys their issuer publishes. Cheap
/// to clone (clones share the key caches).
#[derive(Clone)]
pub struct JwtVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuers: Vec<IssuerKeys>,
    audience: String,
    algorithms: Arc<[Algorithm]>,
    leeway: Duration,
    fetcher: Fetcher,
    /// Tokens verified before (`cache.rs`).
    verified: Verified,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let issuers: Vec<&str> = self.inner.issuers.iter().map(|i| i.issuer.as_str()).collect();
        f.debug_struct("JwtVerifier")
            .field("issuers", &issuers)
            .field("audience", &self.inner.audience)
            .finish_non_exhaustive()
    }
}

/// Builds a [`JwtVerifier`].
#[derive(Debug, Clone)]
pub struct JwtVerifierBuilder {
    audience: String,
    issuers: Vec<(String, Option<String>)>,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    policy: CachePolicy,
    fetch_timeout: Duration,
    max_document_bytes: usize,
    allow_http: bool,
    roots: Vec<Vec<u8>>,
}

impl JwtVerifier {
    /// A verifier of tokens issued for `audience` (the resource URI, as in
    /// [`crate::auth::AuthConfig::resource`]).
    pub fn builder(audience: impl Into<String>) -> JwtVerifierBuilder {
        JwtVerifierBuilder {
            audience: audience.into(),
            issuers: Vec::new(),
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            leeway: Duration::from_secs(60),
            policy: CachePolicy {
                ttl: Duration::from_secs(300),
                min_refetch_interval: Duration::from_secs(10),
            },
            fetch_timeout: Duration::from_secs(5),
            max_document_bytes: 256 * 1024,
            allow_http: false,
            roots: Vec::new(),
        }
    }

    /// Fetches every issuer's metadata and keys now rather than on the
    /// first token (to fail at start rather than at the first request).
    pub async fn prefetch(&self) -> Result<(), VerifyError> {
        for issuer in &self.inner.issuers {
            issuer.prefetch(&self.inner.fetcher).await?;
        }
        Ok(())
    }

    async fn check(&self, token: &str) -> Result<Principal, VerifyError> {
        let invalid = |why: &str| VerifyError::Invalid(why.to_owned());
        if let Some(principal) = self.inner.verified.get(token, &self.inner.issuers) {
            return Ok(principal);
        }
        let (header, iss) = inspect(token, &self.inner.algorithms)?;
        let (number, issuer) = self
            .inner
            .issuers
            .iter()
            .enumerate()
            .find(|(_, i)| i.issuer == iss)
            .ok_or_else(|| invalid("the issuer is not trusted"))?;
        let key = issuer
            .find(header.kid.as_deref(), header.alg, &self.inner.fetcher)
            .await?;
        let mut validation = Validation::new(header.alg);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[&issuer.issuer]);
        validation.set_audience(&[&self.inner.audience]);
        validation.leeway = self.inner.leeway.as_secs();
        validation.validate_nbf = true;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
            .map_err(|e| VerifyError::Invalid(format!("{e}")))?
            .claims;
        let principal = principal_of(claims)?;
        self.inner.verified.put(token, &principal, number, key);
        Ok(principal)
    }
}

/// What a token says of itself before any key is involved: its header,
/// with an algorithm on the allow-list, and the issuer it names (only to
/// choose whose keys check it; the claims are checked once the signature
/// is).
pub(crate) fn inspect(token: &str, allowed: &[Algorithm]) -> Result<(Header, String), VerifyError> {
    let invalid = |why: &str| VerifyError::Invalid(why.to_owned());
    if token.len() > MAX_TOKEN_BYTES {
        return Err(invalid("the token is too long"));
    }
    if token.split('.').count() != 3 {
        return Err(invalid("not a JWT (three parts separated by dots)"));
    }
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| VerifyError::Invalid(format!("the header: {e}")))?;
    if !allowed.contains(&header.alg) {
        return Err(VerifyError::Invalid(format!(
            "algorithm {:?} is not allowed",
            header.alg
        )));
    }
    let unverified: Map<String, Value> = jsonwebtoken::dangerous::insecure_decode_claims(token)
        .map_err(|e| VerifyError::Invalid(format!("the claims: {e}")))?;
    match unverified.get("iss") {
        Some(Value::String(iss)) => Ok((header, iss.clone())),
        _ => Err(invalid("no iss")),
    }
}

impl TokenVerifier for JwtVerifier {
    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(self.check(token))
    }
}

impl JwtVerifierBuilder {
    /// Trusts tokens from `issuer`, whose keys are found through its
    /// metadata (RFC 8414 or OpenID Connect Discovery).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push((issuer.into(), None));
        self
    }

    /// Trusts tokens from `issuer`, whose keys are at `jwks_uri` (no
    /// discovery).
    pub fn issuer_with_jwks(mut self, issuer: impl Into<String>, jwks_uri: impl Into<String>) -> Self {
        self.issuers.push((issuer.into(), Some(jwks_uri.into())));
        self
    }

    /// The algorithms accepted (asymmetric ones only).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// How much clock skew `exp` and `nbf` tolerate (default 60 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// How long fetched keys are used before they are fetched again
    /// (default 300 s). A key the issuer drops is refused at most this long
    /// after: the refetch interval below is never longer.
    pub fn jwks_ttl(mut self, ttl: Duration) -> Self {
        self.policy.ttl = ttl;
        self
    }

    /// The least time between two fetches of one issuer's keys (default
    /// 10 s, and never more than the TTL): what a burst of unknown `kid`s
    /// costs the issuer.
    pub fn min_refetch_interval(mut self, interval: Duration) -> Self {
        self.policy.min_refetch_interval = interval;
        self
    }

    /// How long one fetch of metadata or keys may take (default 5 s).
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.fetch_timeout = timeout;
        self
    }

    /// The largest metadata or JWKS document read (default 256 KiB).
    pub fn max_document_bytes(mut self, bytes: usize) -> Self {
        self.max_document_bytes = bytes;
        self
    }

    /// Allows plain `http` issuers and key URIs on hosts that are not
    /// loopback (default: only loopback).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Also trusts `root` (a CA certificate, DER) for `https` fetches
    /// (feature `tls`).
    pub fn root_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.roots.push(der.into());
        self
    }

    /// The verifier, or why the configuration cannot work.
    pub fn build(self) -> Result<JwtVerifier, AuthConfigError> {
        let error = |why: String| AuthConfigError::new(why);
        if self.issuers.is_empty() {
            return Err(error("a JWT verifier needs at least one issuer".to_owned()));
        }
        if self.algorithms.is_empty() || self.algorithms.iter().any(|a| !DEFAULT_ALGORITHMS.contains(a)) {
            return Err(error(format!(
                "algorithms must be asymmetric ones among {DEFAULT_ALGORITHMS:?}"
            )));
        }
        check_uri("the audience", &self.audience)?;
        let mut fetcher = Fetcher::new(&self.roots).map_err(error)?;
        fetcher.timeout = self.fetch_timeout;
        fetcher.max_body_bytes = self.max_document_bytes;
        fetcher.allow_http = self.allow_http;
        let algorithms: Arc<[Algorithm]> = self.algorithms.into();
        // Keys past their TTL are fetched again even if the last fetch was
        // less than `min_refetch_interval` ago: otherwise a dropped key would
        // outlive the TTL the operator set.
        let mut policy = self.policy;
        policy.min_refetch_interval = policy.min_refetch_interval.min(policy.ttl);
        let mut issuers = Vec::new();
        for (issuer, jwks_uri) in self.issuers {
            fetcher.check(&issuer).map_err(error)?;
            if let Some(uri) = &jwks_uri {
                fetcher.check(uri).map_err(error)?;
            }
            issuers.push(IssuerKeys::new(issuer, jwks_uri, policy, Arc::clone(&algorithms)));
        }
        Ok(JwtVerifier {
            inner: Arc::new(Inner {
                issuers,
                audience: self.audience,
                algorithms,
                leeway: self.leeway,
                fetcher,
                verified: Verified::default(),
            }),
        })
    }
}
