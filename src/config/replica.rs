//! What replicas behind one load balancer share (the key that seals
//! `requestState`) and what tells them apart (a replica's name in the ids
//! it hands out).

use std::fmt;

/// A secret key (its bytes are never printed).
#[derive(Clone)]
pub struct StateKey(pub(crate) std::sync::Arc<[u8]>);

impl StateKey {
    /// A key of these bytes (at least 16 of them).
    ///
    /// # Errors
    ///
    /// A message when the key is shorter than 16 bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() < 16 {
            return Err(format!(
                "a state key needs at least 16 bytes, got {}",
                bytes.len()
            ));
        }
        Ok(Self(std::sync::Arc::from(bytes)))
    }
}

impl fmt::Debug for StateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StateKey({} bytes, redacted)", self.0.len())
    }
}

/// Longest [`ReplicaId`], in bytes.
pub const MAX_REPLICA_ID_BYTES: usize = 32;

/// A replica's name: 1 to [`MAX_REPLICA_ID_BYTES`] ASCII letters, digits,
/// `-` or `_`, so that `<name>.` can start an HTTP header value and a load
/// balancer can match it with a plain prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaId(String);

impl ReplicaId {
    /// The name `name`.
    ///
    /// # Errors
    ///
    /// A message when `name` is empty, too long or has another character.
    pub fn new(name: &str) -> Result<Self, String> {
        if name.is_empty() || name.len() > MAX_REPLICA_ID_BYTES {
            return Err(format!(
                "a replica id has 1 to {MAX_REPLICA_ID_BYTES} characters, got {}",
                name.len()
            ));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!(
                "a replica id has only letters, digits, '-' and '_', got {bad:?}"
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `id`, with `replica`'s name in front when there is one:
/// `<name>.<id>`.
#[cfg(not(loom))]
pub(crate) fn stamped(replica: Option<&ReplicaId>, id: String) -> String {
    match replica {
        Some(r) => format!("{}.{id}", r.0),
        None => id,
    }
}

#[cfg(all(test, not(any(loom, shuttle))))]
mod tests {
    use super::*;

    #[test]
    fn replica_ids_are_short_header_safe_names() {
        let name = ReplicaId::new("r1_a-B").unwrap();
        assert_eq!(stamped(Some(&name), "x".into()), "r1_a-B.x");
        assert!(ReplicaId::new("").is_err());
        assert!(ReplicaId::new(&"a".repeat(33)).is_err());
        for bad in ["a.b", "a b", "é", "a/b", "a\n"] {
            assert!(ReplicaId::new(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(stamped(None, "id".into()), "id");
    }
}
