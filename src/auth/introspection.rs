//! [`IntrospectionVerifier`]: opaque (or any) tokens checked by asking the
//! authorization server (RFC 7662), with a short cache.
//!
//! The answer must say `active: true` and name the resource in `aud`. An
//! accepted answer is cached, under a SHA-256 hash of the token (never the
//! token), for at most the cache TTL and never past the token's `exp`; the
//! cache holds at most a bounded number of answers.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::config::{AuthConfigError, check_uri};
use super::fetch::Fetcher;
use super::verifier::principal_of;
use super::{Principal, TokenVerifier, VerifyError, VerifyFuture};
use crate::sync::{Arc, Mutex};

/// Most answers cached at once.
const MAX_CACHED: usize = 10_000;

/// Verifies tokens with the authorization server's introspection
/// endpoint. Cheap to clone.
#[derive(Clone)]
pub struct IntrospectionVerifier {
    inner: Arc<Inner>,
}

struct Inner {
    url: String,
    /// `Basic base64(client_id:secret)` (RFC 6749 section 2.3.1).
    authorization: String,
    audience: String,
    cache_ttl: Duration,
    cache: Mutex<HashMap<[u8; 32], (Instant, Principal)>>,
    fetcher: Fetcher,
}

impl std::fmt::Debug for IntrospectionVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectionVerifier")
            .field("url", &self.inner.url)
            .field("audience", &self.inner.audience)
            .finish_non_exhaustive()
    }
}

impl IntrospectionVerifier {
    /// Asks `url` about each token, authenticating as `client_id` with
    /// `client_secret`; accepts tokens issued for `audience` (the resource
    /// URI). Answers are cached for up to 30 s; fetches time out after 5 s.
    pub fn new(
        url: impl Into<String>,
        client_id: &str,
        client_secret: &str,
        audience: impl Into<String>,
    ) -> Result<Self, AuthConfigError> {
        let (url, audience) = (url.into(), audience.into());
        check_uri("the introspection endpoint", &url)?;
        check_uri("the audience", &audience)?;
        let credentials = format!("{}:{}", form_encode(client_id), form_encode(client_secret));
        Ok(Self {
            inner: Arc::new(Inner {
                url,
                authorization: format!("Basic {}", STANDARD.encode(credentials)),
                audience,
                cache_ttl: Duration::from_secs(30),
                cache: Mutex::new(HashMap::new()),
                fetcher: Fetcher::new(&[]).map_err(AuthConfigError::new)?,
            }),
        })
    }

    /// How long an accepted answer is reused (default 30 s; zero: never).
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("configured before it is shared")
            .cache_ttl = ttl;
        self
    }

    async fn check(&self, token: &str) -> Result<Principal, VerifyError> {
        let inner = &self.inner;
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = unix_now();
        if let Some((at, principal)) = inner.cache.lock().get(&key)
            && at.elapsed() < inner.cache_ttl
            && principal.expires_at.is_none_or(|exp| exp > now)
        {
            return Ok(principal.clone());
        }
        let form = format!("token={}&token_type_hint=access_token", form_encode(token));
        let answer = inner
            .fetcher
            .post_form(&inner.url, form, Some(&inner.authorization))
            .await
            .map_err(VerifyError::Unavailable)?;
        let principal = principal(answer, &inner.audience)?;
        if !inner.cache_ttl.is_zero() {
            let mut cache = inner.cache.lock();
            if cache.len() >= MAX_CACHED {
                cache.retain(|_, (at, _)| at.elapsed() < inner.cache_ttl);
                if cache.len() >= MAX_CACHED {
                    cache.clear();
                }
            }
            cache.insert(key, (Instant::now(), principal.clone()));
        }
        Ok(principal)
    }
}

impl TokenVerifier for IntrospectionVerifier {
    fn verify<'a>(&'a self, token: &'a str) -> VerifyFuture<'a> {
        Box::pin(self.check(token))
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// The caller an introspection answer describes, if it is active and for
/// `audience`.
fn principal(answer: Value, audience: &str) -> Result<Principal, VerifyError> {
    let Value::Object(claims) = answer else {
        return Err(VerifyError::Unavailable(
            "the introspection answer is not a JSON object".to_owned(),
        ));
    };
    if claims.get("active") != Some(&Value::Bool(true)) {
        return Err(VerifyError::Invalid("the token is not active".to_owned()));
    }
    let principal = principal_of(claims)?;
    if !principal.audience.iter().any(|a| a == audience) {
        return Err(VerifyError::Invalid(
            "the token was not issued for this resource".to_owned(),
        ));
    }
    if principal.expires_at.is_some_and(|exp| exp <= unix_now()) {
        return Err(VerifyError::Invalid("the token has expired".to_owned()));
    }
    Ok(principal)
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_an_active_answer_for_us_is_a_caller() {
        let aud = "https://a.example/mcp";
        let ok = json!({"active": true, "sub": "alice", "client_id": "c", "scope": "read write", "aud": [aud], "iss": "https://as"});
        let p = principal(ok, aud).unwrap();
        assert_eq!((p.subject.as_str(), p.client_id.as_deref()), ("alice", Some("c")));
        assert_eq!(p.scopes, ["read", "write"]);
        for bad in [
            json!({"active": false, "sub": "alice", "aud": aud}),
            json!({"sub": "alice", "aud": aud}),
            json!({"active": true, "sub": "alice", "aud": "https://b.example/mcp"}),
            json!({"active": true, "sub": "alice"}),
            json!({"active": true, "sub": "alice", "aud": aud, "exp": 1}),
        ] {
            assert!(
                matches!(principal(bad.clone(), aud), Err(VerifyError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(form_encode("a+b/c=d e"), "a%2Bb%2Fc%3Dd%20e");
    }
}
