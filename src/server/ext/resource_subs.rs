//! `resources/subscribe` (2024-11-05 .. 2025-11-25): which sessions want
//! `notifications/resources/updated` for which URI.
//!
//! The table maps a URI to its subscribed sessions; each session also keeps
//! its own URIs (in its `SessionState`) so that it can leave the table when
//! it ends. The lock is held only to edit the table or to copy one URI's
//! sessions; notifying happens after it is dropped.

use std::collections::HashMap;

use crate::core::{IdSet, SessionId};
use crate::sync::{Mutex, RandomState};

/// The most one session may hold subscribed at once, counted as the total
/// length of its URIs in bytes; a subscription past it is refused (-32602),
/// so that no client grows the table without bound (the table holds each
/// URI once per session and once as its key: at most twice this per
/// session).
pub const MAX_SUBSCRIBED_BYTES_PER_SESSION: usize = 64 * 1024;

/// Sessions by the URI they subscribed to.
#[derive(Debug, Default)]
pub(crate) struct ResourceSubscriptions {
    by_uri: Mutex<HashMap<String, IdSet<SessionId>, RandomState>>,
}

impl ResourceSubscriptions {
    pub(crate) fn subscribe(&self, uri: &str, session: SessionId) {
        self.by_uri
            .lock()
            .entry(uri.to_owned())
            .or_default()
            .insert(session);
    }

    pub(crate) fn unsubscribe(&self, uri: &str, session: SessionId) {
        let mut by_uri = self.by_uri.lock();
        if let Some(sessions) = by_uri.get_mut(uri) {
            sessions.remove(&session);
            if sessions.is_empty() {
                by_uri.remove(uri);
            }
        }
    }

    /// The sessions subscribed to `uri`, copied.
    pub(crate) fn sessions(&self, uri: &str) -> Vec<SessionId> {
        self.by_uri
            .lock()
            .get(uri)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// URIs with at least one subscriber.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_uri.lock().len()
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_come_and_go_without_leaving_empty_entries() {
        let subs = ResourceSubscriptions::default();
        let (a, b) = (SessionId(1), SessionId(2));
        subs.subscribe("x", a);
        subs.subscribe("x", b);
        subs.subscribe("x", a);
        let mut s = subs.sessions("x");
        s.sort();
        assert_eq!(s, [a, b]);
        subs.unsubscribe("x", a);
        subs.unsubscribe("x", b);
        subs.unsubscribe("y", b);
        assert!(subs.sessions("x").is_empty());
        assert_eq!(subs.len(), 0);
    }
}
