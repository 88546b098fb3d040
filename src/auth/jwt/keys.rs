//! One issuer's signing keys: where they are (configured, or found in the
//! issuer's RFC 8414 or OpenID metadata, whose `issuer` must match), and
//! the JWKS cached for a TTL.
//!
//! A token with an unknown `kid`, or any token once the keys are past
//! their TTL, makes one refetch: callers wait on one lock, the first
//! fetches, the others find its result; and no refetch starts within the
//! minimum interval of the last attempt, so a burst of forged `kid`s makes
//! one fetch. A failed fetch keeps the keys already cached.

use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use super::super::VerifyError;
use super::super::fetch::Fetcher;
use crate::sync::{Arc, Mutex};

/// Most keys taken from one JWKS.
const MAX_KEYS: usize = 64;

/// One usable signing key.
pub(super) struct Key {
    kid: Option<String>,
    /// The key's own `alg`, when the JWK names one.
    alg: Option<Algorithm>,
    pub(super) key: DecodingKey,
}

impl Key {
    fn fits(&self, kid: Option<&str>, alg: Algorithm) -> bool {
        let kid_fits = kid.is_none_or(|kid| self.kid.as_deref() == Some(kid));
        kid_fits && self.alg.is_none_or(|own| own == alg) && self.key.family() == alg.family()
    }
}

#[derive(Default)]
struct State {
    keys: Arc<Vec<Arc<Key>>>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
    /// Why the last attempt failed, if it did.
    failure: Option<String>,
    generation: u64,
}

/// Tuning of the key cache.
#[derive(Debug, Clone, Copy)]
pub(super) struct CachePolicy {
    pub(super) ttl: Duration,
    pub(super) min_refetch_interval: Duration,
}

pub(super) struct IssuerKeys {
    pub(super) issuer: String,
    jwks_uri: Mutex<Option<String>>,
    state: Mutex<State>,
    refetch: tokio::sync::Mutex<()>,
    policy: CachePolicy,
    allowed: Arc<[Algorithm]>,
}

impl IssuerKeys {
    pub(super) fn new(
        issuer: String,
        jwks_uri: Option<String>,
        policy: CachePolicy,
        allowed: Arc<[Algorithm]>,
    ) -> Self {
        Self {
            issuer,
            jwks_uri: Mutex::new(jwks_uri),
            state: Mutex::new(State::default()),
            refetch: tokio::sync::Mutex::new(()),
            policy,
            allowed,
        }
    }

    /// The key for a token with `kid` signed with `alg`.
    pub(super) async fn find(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
        fetcher: &Fetcher,
    ) -> Result<Arc<Key>, VerifyError> {
        let (keys, fresh, generation) = self.snapshot();
        if fresh && let Some(key) = pick(&keys, kid, alg) {
            return Ok(key);
        }
        let _one_at_a_time = self.refetch.lock().await;
        let (keys, fresh, now_generation) = self.snapshot();
        if now_generation != generation && (fresh || pick(&keys, kid, alg).is_some()) {
            // Another caller refetched while this one waited.
            return pick(&keys, kid, alg).ok_or_else(|| unknown(kid));
        }
        let failure = {
            let state = self.state.lock();
            let recent = state
                .attempted_at
                .is_some_and(|at| at.elapsed() < self.policy.min_refetch_interval);
            recent.then(|| state.failure.clone())
        };
        if let Some(failure) = failure {
            // Rate-limited: the cached keys, stale or not, are all there is.
            return pick(&keys, kid, alg).ok_or_else(|| match failure {
                Some(why) => VerifyError::Unavailable(why),
                None => unknown(kid),
            });
        }
        match self.refresh(fetcher).await {
            Ok(fetched) => pick(&fetched, kid, alg).ok_or_else(|| unknown(kid)),
            Err(why) => pick(&keys, kid, alg).ok_or(VerifyError::Unavailable(why)),
        }
    }

    /// Fetches the keys now, whatever the cache holds.
    pub(super) async fn prefetch(&self, fetcher: &Fetcher) -> Result<(), VerifyError> {
        let _one_at_a_time = self.refetch.lock().await;
        self.refresh(fetcher)
            .await
            .map(drop)
            .map_err(VerifyError::Unavailable)
    }

    /// One fetch (the caller holds `refetch`): the new keys, stored, or
    /// why not (the cached keys stay).
    async fn refresh(&self, fetcher: &Fetcher) -> Result<Arc<Vec<Arc<Key>>>, String> {
        self.state.lock().attempted_at = Some(Instant::now());
        let outcome = match tokio::time::timeout(fetcher.timeout, self.fetch(fetcher)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!(
                "the keys of {} did not arrive within {} ms",
                self.issuer,
                fetcher.timeout.as_millis()
            )),
        };
        let mut state = self.state.lock();
        match outcome {
            Ok(fetched) => {
                state.keys = Arc::new(fetched);
                state.fetched_at = Some(Instant::now());
                state.failure = None;
                state.generation += 1;
                Ok(Arc::clone(&state.keys))
            }
            Err(why) => {
                tracing::warn!(issuer = %self.issuer, error = %why, "fetching the issuer's keys failed; the cached ones stay");
                state.failure = Some(why.clone());
                Err(why)
            }
        }
    }

    /// True if `key` is among the keys held now, and they are fresh.
    pub(super) fn holds(&self, key: &Arc<Key>) -> bool {
        let state = self.state.lock();
        state.fetched_at.is_some_and(|at| at.elapsed() < self.policy.ttl)
            && state.keys.iter().any(|k| Arc::ptr_eq(k, key))
    }

    fn snapshot(&self) -> (Arc<Vec<Arc<Key>>>, bool, u64) {
        let state = self.state.lock();
        let fresh = state.fetched_at.is_some_and(|at| at.elapsed() < self.policy.ttl);
        (Arc::clone(&state.keys), fresh, state.generation)
    }

    async fn fetch(&self, fetcher: &Fetcher) -> Result<Vec<Arc<Key>>, String> {
        let configured = self.jwks_uri.lock().clone();
        let uri = match configured {
            Some(uri) => uri,
            None => {
                let uri = discover(&self.issuer, fetcher).await?;
                *self.jwks_uri.lock() = Some(uri.clone());
                uri
            }
        };
        let document = fetcher.get_json(&uri).await?;
        parse_jwks(document, &self.allowed).map_err(|why| format!("the JWKS at {uri}: {why}"))
    }
}

fn unknown(kid: Option<&str>) -> VerifyError {
    VerifyError::Invalid(match kid {
        Some(_) => "no key of the issuer has the token's kid".to_owned(),
        None => "the token names no kid and no single key of the issuer fits it".to_owned(),
    })
}

/// The key with `kid` that fits `alg`; without a `kid`, the only key that
/// fits.
fn pick(keys: &[Arc<Key>], kid: Option<&str>, alg: Algorithm) -> Option<Arc<Key>> {
    let mut fitting = keys.iter().filter(|k| k.fits(kid, alg));
    let first = fitting.next()?;
    (kid.is_some() || fitting.next().is_none()).then(|| Arc::clone(first))
}

/// The metadata URIs of an issuer, in the order they are tried: RFC 8414
/// (path inserted after the well-known prefix), then OpenID Connect
/// Discovery (appended, then inserted).
fn metadata_urls(issuer: &str) -> Vec<String> {
    let trimmed = issuer.trim_end_matches('/');
    let (origin, path) = match trimmed
        .find("://")
        .and_then(|s| trimmed[s + 3..].find('/').map(|p| s + 3 + p))
    {
        Some(at) => trimmed.split_at(at),
        None => (trimmed, ""),
    };
    let mut urls = vec![format!("{origin}/.well-known/oauth-authorization-server{path}")];
    urls.push(format!("{trimmed}/.well-known/openid-configuration"));
    if !path.is_empty() {
        urls.push(format!("{origin}/.well-known/openid-configuration{path}"));
    }
    urls
}

/// The issuer's `jwks_uri`, from the first metadata document found whose
/// `issuer` is exactly `issuer`.
async fn discover(issuer: &str, fetcher: &Fetcher) -> Result<String, String> {
    let mut why = Vec::new();
    for url in metadata_urls(issuer) {
        match fetcher.get_json(&url).await {
            Ok(doc) if doc.get("issuer").and_then(Value::as_str) != Some(issuer) => {
                why.push(format!("{url} names another issuer"));
            }
            Ok(doc) => match doc.get("jwks_uri").and_then(Value::as_str) {
                Some(uri) => return fetcher.check(uri).map(|_| uri.to_owned()),
                None => why.push(format!("{url} has no jwks_uri")),
            },
            Err(error) => why.push(error),
        }
    }
    Err(format!("no metadata for issuer {issuer}: {}", why.join("; ")))
}

/// The signing keys of a JWKS document that an allowed algorithm can use
/// (never a symmetric key: the issuer's secret is not ours to hold).
fn parse_jwks(document: Value, allowed: &[Algorithm]) -> Result<Vec<Arc<Key>>, String> {
    let set: JwkSet = serde_json::from_value(document).map_err(|e| format!("not a JWK set: {e}"))?;
    let mut keys = Vec::new();
    for jwk in set.keys.iter().take(MAX_KEYS) {
        let signing = jwk
            .common
            .public_key_use
            .as_ref()
            .is_none_or(|u| *u == PublicKeyUse::Signature);
        let asymmetric = !matches!(
            jwk.algorithm,
            AlgorithmParameters::OctetKey(_) | AlgorithmParameters::Other(_)
        );
        let alg = jwk.common.key_algorithm.and_then(|a| Algorithm::try_from(a).ok());
        if !signing || !asymmetric || alg.is_some_and(|a| !allowed.contains(&a)) {
            continue;
        }
        if let Ok(key) = DecodingKey::from_jwk(jwk) {
            keys.push(Arc::new(Key {
                kid: jwk.common.key_id.clone(),
                alg,
                key,
            }));
        }
    }
    if keys.is_empty() {
        return Err("no usable signing key".to_owned());
    }
    Ok(keys)
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_looked_for_where_rfc_8414_and_openid_put_it() {
        assert_eq!(
            metadata_urls("https://as.example"),
            [
                "https://as.example/.well-known/oauth-authorization-server",
                "https://as.example/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            metadata_urls("https://as.example/tenant/"),
            [
                "https://as.example/.well-known/oauth-authorization-server/tenant",
                "https://as.example/tenant/.well-known/openid-configuration",
                "https://as.example/.well-known/openid-configuration/tenant"
            ]
        );
    }

    #[test]
    fn symmetric_and_encryption_keys_are_never_taken() {
        let doc = serde_json::json!({"keys": [
            {"kty": "oct", "k": "c2VjcmV0", "kid": "h"},
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "e", "use": "enc"}
        ]});
        assert!(parse_jwks(doc, &[Algorithm::EdDSA]).is_err());
        let doc = serde_json::json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "e"}
        ]});
        let keys = parse_jwks(doc, &[Algorithm::EdDSA]).unwrap();
        assert!(pick(&keys, Some("e"), Algorithm::EdDSA).is_some());
        assert!(pick(&keys, None, Algorithm::EdDSA).is_some());
        assert!(pick(&keys, Some("x"), Algorithm::EdDSA).is_none());
        assert!(pick(&keys, Some("e"), Algorithm::RS256).is_none());
    }
}
