//! Live sessions of one transport by their public key (an HTTP session's
//! `Mcp-Session-Id`), behind the shim's synchronous `Mutex`.
//!
//! # Invariants
//!
//! 1. Every critical section is one map operation; the guard never lives
//!    across an `.await` (it is `!Send`, and `clippy::await_holding_lock`
//!    is denied). A lookup returns a clone.
//! 2. A key is removed by whichever comes first, the session's own end or
//!    its deletion, and never comes back: keys are never reused, so a
//!    request that names an ended session finds nothing (no resurrection).
//!    (With a session store, a session this process let go of may be taken
//!    up again from its record, under the same key; [`Directory::insert_new`]
//!    keeps that to one entry per key.)
//!
//! Lock order: a leaf; nothing else is locked while it is held.
//!
//! Known-bad variant `directory_entry_left` (model builds only): a session
//! that ends by itself leaves its entry behind. The expiry model catches it.

use std::collections::HashMap;

use crate::sync::{Mutex, RandomState, mutant};

/// Live entries by key.
#[derive(Debug)]
pub struct Directory<T> {
    map: Mutex<HashMap<String, T, RandomState>>,
}

impl<T> Default for Directory<T> {
    fn default() -> Self {
        Self {
            map: Mutex::new(HashMap::default()),
        }
    }
}

impl<T: Clone> Directory<T> {
    /// Adds an entry under a new key.
    pub fn insert(&self, key: String, entry: T) {
        self.map.lock().insert(key, entry);
    }

    /// Adds `entry` under `key` unless the key is taken; then `Err` with a
    /// clone of the entry that holds it.
    pub fn insert_new(&self, key: String, entry: T) -> Result<(), T> {
        let mut map = self.map.lock();
        if let Some(held) = map.get(&key) {
            return Err(held.clone());
        }
        map.insert(key, entry);
        Ok(())
    }

    /// A clone of the entry under `key`.
    pub fn get(&self, key: &str) -> Option<T> {
        self.map.lock().get(key).cloned()
    }

    /// A clone of every entry (for a scan of all sessions, such as the
    /// search for one to evict; one map operation, invariant 1).
    pub fn values(&self) -> Vec<T> {
        self.map.lock().values().cloned().collect()
    }

    /// Removes the entry under `key` (a deletion); the entry, if it was
    /// there.
    pub fn remove(&self, key: &str) -> Option<T> {
        self.map.lock().remove(key)
    }

    /// Removes the entry of a session that ended by itself.
    pub fn ended(&self, key: &str) {
        if mutant("directory_entry_left") {
            return;
        }
        self.map.lock().remove(key);
    }

    /// Entries live now.
    pub fn len(&self) -> usize {
        self.map.lock().len()
    }

    /// True when no entry is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
