//! [`MemoryStore`]: session records in this process's memory.

use std::collections::HashMap;
use std::time::Duration;

use super::{SessionEvent, SessionEvents, SessionRecord, SessionStore, Sinks, StoreError, StoreFuture};
use crate::sync::{Arc, Mutex, RandomState, Weak, now_ms};

/// Records at most; a save past it fails (the session is then not shared).
pub const DEFAULT_MEMORY_STORE_RECORDS: usize = 100_000;

/// Session records in this process's memory, each until its time to live
/// runs out. Clones share the records: give one to several servers in one
/// process and each serves the others' sessions (its events reach every
/// server at once).
///
/// Bounded: at most [`MemoryStore::with_capacity`] records (expired ones
/// are swept when it is reached).
#[derive(Debug, Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    records: Mutex<HashMap<String, Kept, RandomState>>,
    capacity: usize,
    /// The servers that share the store, for its events.
    sinks: Sinks,
}

#[derive(Debug)]
struct Kept {
    record: SessionRecord,
    /// When it lapses, in milliseconds since the epoch.
    until_ms: u64,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_MEMORY_STORE_RECORDS)
    }
}

impl MemoryStore {
    /// An empty store of at most [`DEFAULT_MEMORY_STORE_RECORDS`] records.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store of at most `capacity` records (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                records: Mutex::new(HashMap::default()),
                capacity: capacity.max(1),
                sinks: Sinks::default(),
            }),
        }
    }

    /// Records held now, lapsed ones not yet swept included.
    pub fn len(&self) -> usize {
        self.inner.records.lock().len()
    }

    /// True when no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn save_now(&self, sid: &str, record: &SessionRecord, ttl: Duration) -> Result<(), StoreError> {
        let now = now_ms();
        let mut records = self.inner.records.lock();
        if records.len() >= self.inner.capacity && !records.contains_key(sid) {
            records.retain(|_, kept| kept.until_ms > now);
            if records.len() >= self.inner.capacity {
                return Err(StoreError(format!(
                    "the memory store holds its maximum of {} sessions",
                    self.inner.capacity
                )));
            }
        }
        let kept = Kept {
            record: record.clone(),
            until_ms: now.saturating_add(ttl.as_millis() as u64),
        };
        records.insert(sid.to_owned(), kept);
        Ok(())
    }

    fn load_now(&self, sid: &str) -> Option<SessionRecord> {
        let now = now_ms();
        let mut records = self.inner.records.lock();
        match records.get(sid) {
            Some(kept) if kept.until_ms > now => Some(kept.record.clone()),
            Some(_) => {
                records.remove(sid);
                None
            }
            None => None,
        }
    }
}

impl SessionStore for MemoryStore {
    fn save<'a>(&'a self, sid: &'a str, record: &'a SessionRecord, ttl: Duration) -> StoreFuture<'a, ()> {
        let saved = self.save_now(sid, record, ttl);
        Box::pin(async move { saved })
    }

    fn load<'a>(&'a self, sid: &'a str) -> StoreFuture<'a, Option<SessionRecord>> {
        let loaded = self.load_now(sid);
        Box::pin(async move { Ok(loaded) })
    }

    fn remove<'a>(&'a self, sid: &'a str) -> StoreFuture<'a, ()> {
        self.inner.records.lock().remove(sid);
        Box::pin(async { Ok(()) })
    }

    fn touch(&self, sid: &str, ttl: Duration) {
        let now = now_ms();
        if let Some(kept) = self.inner.records.lock().get_mut(sid)
            && kept.until_ms > now
        {
            kept.until_ms = now.saturating_add(ttl.as_millis() as u64);
        }
    }

    fn attach(&self, sink: Weak<dyn SessionEvents>) -> u64 {
        self.inner.sinks.attach(sink)
    }

    fn announce(&self, origin: u64, sid: &str, event: &SessionEvent) {
        self.inner.sinks.deliver(origin, sid, event);
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> SessionRecord {
        SessionRecord {
            protocol_version: "2025-11-25".into(),
            initialized: true,
            client_capabilities: json!({}),
            client_info: json!({"name": "t", "version": "0"}),
            log_level: "warning".into(),
            subscriptions: vec!["file:///a".into()],
            owner: None,
        }
    }

    #[tokio::test]
    async fn keeps_a_record_until_it_lapses_and_a_touch_extends_it() {
        let store = MemoryStore::new();
        store
            .save("s", &record(), Duration::from_millis(150))
            .await
            .unwrap();
        assert_eq!(store.load("s").await.unwrap(), Some(record()));
        tokio::time::sleep(Duration::from_millis(100)).await;
        store.touch("s", Duration::from_millis(150));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(store.load("s").await.unwrap().is_some(), "the touch extended it");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(store.load("s").await.unwrap(), None, "lapsed");
        store.touch("s", Duration::from_secs(60));
        assert_eq!(
            store.load("s").await.unwrap(),
            None,
            "a touch does not bring it back"
        );
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn is_bounded_and_sweeps_lapsed_records_to_make_room() {
        let store = MemoryStore::with_capacity(2);
        store
            .save("a", &record(), Duration::from_millis(50))
            .await
            .unwrap();
        store.save("b", &record(), Duration::from_secs(60)).await.unwrap();
        let full = store.save("c", &record(), Duration::from_secs(60)).await;
        assert!(full.unwrap_err().0.contains("maximum of 2"));
        store
            .save("b", &record(), Duration::from_secs(60))
            .await
            .expect("a saved one may change");
        tokio::time::sleep(Duration::from_millis(80)).await;
        store
            .save("c", &record(), Duration::from_secs(60))
            .await
            .expect("a lapsed one made room");
        store.remove("b").await.unwrap();
        assert_eq!(store.load("b").await.unwrap(), None);
        assert_eq!(store.len(), 1);
    }
}
