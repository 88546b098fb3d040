//! [`MemoryStore`]: session records in this process's memory.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;

use super::{
    EventStore, LoggedStream, SessionEvent, SessionEvents, SessionRecord, SessionStore, Sinks, StoreError,
    StoreFuture, StreamKind, StreamLog, TaskEvent, TaskEvents, TaskRecord, TaskStore,
};
use crate::sync::{Arc, Mutex, RandomState, Weak, now_ms};

/// Records at most; a save past it fails (the session is then not shared).
pub const DEFAULT_MEMORY_STORE_RECORDS: usize = 100_000;

/// Session records, the events of their streams and task records in this
/// process's memory, each until its time to live runs out. Clones share the records: give one to several servers in one
/// process and each serves the others' sessions (its events reach every
/// server at once).
///
/// Bounded: at most [`MemoryStore::with_capacity`] records, as many
/// task records and as many sessions' event logs (expired ones are swept when it is reached; an
/// append past it is dropped), each bounded as
/// [`StreamLog`] is.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    records: Mutex<HashMap<String, Kept, RandomState>>,
    /// The streams' events of each session, and when they lapse.
    logs: Mutex<HashMap<String, (Arc<StreamLog>, u64), RandomState>>,
    /// Task records, and when they lapse.
    tasks: Mutex<HashMap<String, (TaskRecord, u64), RandomState>>,
    capacity: usize,
    /// The servers that share the store, for its events.
    sinks: Sinks,
    /// The same, for task events.
    task_sinks: Sinks<dyn TaskEvents>,
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
                logs: Mutex::new(HashMap::default()),
                tasks: Mutex::new(HashMap::default()),
                capacity: capacity.max(1),
                sinks: Sinks::default(),
                task_sinks: Sinks::default(),
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

impl EventStore for MemoryStore {
    fn append(&self, sid: &str, stream: u64, kind: StreamKind, seq: u64, event: &Bytes, ttl: Duration) {
        let now = now_ms();
        let until = now.saturating_add(ttl.as_millis() as u64);
        let log = {
            let mut logs = self.inner.logs.lock();
            if logs.len() >= self.inner.capacity && !logs.contains_key(sid) {
                logs.retain(|_, (_, until_ms)| *until_ms > now);
                if logs.len() >= self.inner.capacity {
                    return;
                }
            }
            let (log, until_ms) = logs
                .entry(sid.to_owned())
                .or_insert_with(|| (Arc::new(StreamLog::default()), until));
            *until_ms = until;
            Arc::clone(log)
        };
        log.record(stream, kind, seq, event);
    }

    fn stream<'a>(&'a self, sid: &'a str, stream: u64) -> StoreFuture<'a, Option<LoggedStream>> {
        let now = now_ms();
        let log = self
            .inner
            .logs
            .lock()
            .get(sid)
            .filter(|(_, until_ms)| *until_ms > now)
            .map(|(log, _)| Arc::clone(log));
        let kept = log.and_then(|log| log.stream(stream));
        Box::pin(async move { Ok(kept) })
    }

    fn forget(&self, sid: &str) {
        self.inner.logs.lock().remove(sid);
    }
}

impl TaskStore for MemoryStore {
    fn save_task<'a>(&'a self, record: &'a TaskRecord, ttl: Duration) -> StoreFuture<'a, ()> {
        let now = now_ms();
        let mut tasks = self.inner.tasks.lock();
        if tasks.len() >= self.inner.capacity && !tasks.contains_key(&record.id) {
            tasks.retain(|_, (_, until_ms)| *until_ms > now);
        }
        let saved = if tasks.len() >= self.inner.capacity && !tasks.contains_key(&record.id) {
            Err(StoreError(format!(
                "the memory store holds its maximum of {} tasks",
                self.inner.capacity
            )))
        } else {
            let until = now.saturating_add(ttl.as_millis() as u64);
            tasks.insert(record.id.clone(), (record.clone(), until));
            Ok(())
        };
        Box::pin(async move { saved })
    }

    fn load_task<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<TaskRecord>> {
        let now = now_ms();
        let loaded = self
            .inner
            .tasks
            .lock()
            .get(id)
            .filter(|(_, until_ms)| *until_ms > now)
            .map(|(record, _)| record.clone());
        Box::pin(async move { Ok(loaded) })
    }

    fn attach_tasks(&self, sink: Weak<dyn TaskEvents>) -> u64 {
        self.inner.task_sinks.attach(sink)
    }

    fn announce_task(&self, origin: u64, event: &TaskEvent) {
        self.inner.task_sinks.deliver_task(origin, event);
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

    #[tokio::test]
    async fn keeps_events_until_they_lapse_or_the_session_is_forgotten() {
        let store = MemoryStore::with_capacity(1);
        let event = Bytes::from("id: 5-1\ndata: {}\n\n");
        let short = Duration::from_millis(50);
        store.append("a", 5, StreamKind::Request, 1, &event, short);
        let kept = store.stream("a", 5).await.unwrap().expect("kept");
        assert_eq!((kept.kind, kept.events.len()), (StreamKind::Request, 1));
        assert_eq!(kept.events[0].event, event);
        assert!(store.stream("a", 6).await.unwrap().is_none());
        store.append("b", 5, StreamKind::Request, 1, &event, short);
        assert!(store.stream("b", 5).await.unwrap().is_none(), "full: dropped");
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(store.stream("a", 5).await.unwrap().is_none(), "lapsed");
        store.append("b", 5, StreamKind::Standalone, 1, &event, Duration::from_secs(60));
        assert!(store.stream("b", 5).await.unwrap().is_some(), "room made");
        store.forget("b");
        assert!(store.stream("b", 5).await.unwrap().is_none(), "forgotten");
    }

    #[tokio::test]
    async fn keeps_task_records_until_they_lapse_bounded() {
        let store = MemoryStore::with_capacity(1);
        let record = TaskRecord::new("t1", json!({"taskId": "t1", "status": "completed"}));
        store.save_task(&record, Duration::from_millis(50)).await.unwrap();
        assert_eq!(store.load_task("t1").await.unwrap(), Some(record.clone()));
        let other = TaskRecord::new("t2", json!({}));
        let full = store.save_task(&other, Duration::from_secs(60)).await;
        assert!(full.unwrap_err().0.contains("maximum of 1 tasks"));
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(store.load_task("t1").await.unwrap(), None, "lapsed");
        store
            .save_task(&other, Duration::from_secs(60))
            .await
            .expect("a lapsed one made room");
    }
}
