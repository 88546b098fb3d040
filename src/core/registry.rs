//! The session registry: live sessions by id, behind the shim's synchronous
//! `Mutex`.
//!
//! # Invariants
//!
//! 1. Every critical section is one map operation or one clone of the map's
//!    values; the guard never lives across an `.await` (it is `!Send`, and
//!    `clippy::await_holding_lock` is denied).
//! 2. A lookup clones what it needs ([`SessionEntry`] is a few `Arc`s) and
//!    drops the guard before the caller sends anything.
//!
//! Lock order: the registry lock is a leaf; nothing else is locked while it
//! is held.

use crate::core::{IdMap, OutboxSender, SessionAttrs, SessionId};
use crate::sync::{Arc, CancellationToken, Mutex};

/// What the registry keeps of a live session. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct SessionEntry {
    pub(crate) outbox: OutboxSender,
    pub(crate) token: CancellationToken,
    pub(crate) attrs: Arc<SessionAttrs>,
}

/// Live sessions by id.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    map: Mutex<IdMap<SessionId, SessionEntry>>,
}

impl Registry {
    /// Adds a session.
    pub(crate) fn insert(&self, id: SessionId, entry: SessionEntry) {
        self.map.lock().insert(id, entry);
    }

    /// Removes a session; true if it was there.
    pub(crate) fn remove(&self, id: SessionId) -> bool {
        self.map.lock().remove(&id).is_some()
    }

    /// A clone of one session's entry.
    pub(crate) fn get(&self, id: SessionId) -> Option<SessionEntry> {
        self.map.lock().get(&id).cloned()
    }

    /// Clones of the entries `keep` selects, taken under one lock.
    pub(crate) fn snapshot(
        &self,
        mut keep: impl FnMut(&SessionEntry) -> bool,
    ) -> Vec<(SessionId, SessionEntry)> {
        let map = self.map.lock();
        map.iter()
            .filter(|(_, entry)| keep(entry))
            .map(|(id, entry)| (*id, entry.clone()))
            .collect()
    }

    /// Sessions registered now.
    pub(crate) fn len(&self) -> usize {
        self.map.lock().len()
    }
}
