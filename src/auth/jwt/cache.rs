//! Tokens already verified, so that a client sending the same token with
//! every request pays for its signature once: the caller each one named,
//! by the token itself (compared whole, so no other token ever finds an
//! entry; held in memory only, as the request that brought it is),
//! bounded in number.
//!
//! An entry is used only while its token has not expired (no leeway: never
//! past `exp`), for at most `MAX_AGE`, and while the key that verified it
//! is still among its issuer's fresh keys: a key dropped from the JWKS, or
//! keys past their TTL, send the token through full verification again.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::keys::{IssuerKeys, Key};
use crate::auth::Principal;
use crate::sync::{Arc, Mutex};

/// Most tokens remembered at once.
const MAX_ENTRIES: usize = 4096;
/// The longest an entry is used, however far its token's expiry.
const MAX_AGE: Duration = Duration::from_secs(60);

struct Entry {
    principal: Principal,
    /// The issuer (its index among the verifier's) and the key that
    /// verified the token.
    issuer: usize,
    key: Arc<Key>,
    stored: Instant,
}

#[derive(Default)]
pub(super) struct Verified {
    entries: Mutex<HashMap<Box<str>, Entry>>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Verified {
    /// The caller of a token verified before, if its entry may still be
    /// used with `issuers`' keys as they are now.
    pub(super) fn get(&self, token: &str, issuers: &[IssuerKeys]) -> Option<Principal> {
        let entries = self.entries.lock();
        let entry = entries.get(token)?;
        let usable = entry.stored.elapsed() < MAX_AGE
            && entry.principal.expires_at.is_some_and(|exp| exp > unix_now())
            && issuers.get(entry.issuer).is_some_and(|i| i.holds(&entry.key));
        usable.then(|| entry.principal.clone())
    }

    /// Remembers that `principal`'s `token` was verified with `key` of
    /// issuer number `issuer`.
    pub(super) fn put(&self, token: &str, principal: &Principal, issuer: usize, key: Arc<Key>) {
        let mut entries = self.entries.lock();
        if entries.len() >= MAX_ENTRIES {
            let now = unix_now();
            entries.retain(|_, e| {
                e.stored.elapsed() < MAX_AGE && e.principal.expires_at.is_some_and(|x| x > now)
            });
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        let entry = Entry {
            principal: principal.clone(),
            issuer,
            key,
            stored: Instant::now(),
        };
        entries.insert(token.into(), entry);
    }
}
