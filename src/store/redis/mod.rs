//! [`RedisStore`]: session records, the events of sessions' streams (see
//! `log.rs`) and task records in Redis, shared by every replica that names
//! the same Redis and key prefix. A task record is one string key,
//! `<prefix>task:<id>`, saved (`SET .. PX`) by the replica running the
//! task and read (`GET`) by the others.
//!
//! A record is one string key, `<prefix><session id>`, holding the record
//! as JSON with a time to live: `SET .. PX` on a save, `GET` on a load
//! (only for a session the replica does not hold), `DEL` on DELETE,
//! `PEXPIRE` on a touch (which never brings back a record that lapsed or
//! was deleted).
//!
//! # What Redis failures mean
//!
//! Nothing waits for Redis to come back. Commands go over one multiplexed
//! connection that a keeper task makes and checks (a `PING` every
//! [`RedisStoreConfig::health_interval`], and after any failed command).
//! While there is no connection, or [`RedisStoreConfig::max_outstanding`]
//! commands are in flight, a call fails at once; a call on a connection
//! that stops answering fails after [`RedisStoreConfig::command_timeout`].
//! The server answers such a request 503 with `Retry-After` and counts it:
//! a save that failed was not acknowledged to the client. A touch that
//! cannot be sent is dropped and counted ([`StoreMetrics::touches_dropped`]);
//! the record then lives as long as its last touch said.
//!
//! Replicas tell each other about sessions (deleted, changed, a client's
//! answer to a request the server sent) over Redis pub/sub on
//! `<prefix>events`, best effort (see `events.rs`).
//!
//! What a Redis restart keeps is Redis's to say: with the append-only file
//! on and `appendfsync always`, every save the server acknowledged is on
//! disk before Redis answers it; with `appendfsync everysec`, a crash of
//! Redis (not a clean restart) can lose the last second of saves.

mod config;
mod events;
mod link;
mod log;

use std::time::Duration;

use bytes::Bytes;
use redis::RedisError;

use crate::bus::RedisConnector;
use crate::bus::redis::dial::Dial;
use crate::server::store::{
    EventStore, LoggedStream, SessionEvent, SessionEvents, SessionRecord, SessionStore, StoreError,
    StoreFuture, StreamKind, TaskEvent, TaskEvents, TaskRecord, TaskStore,
};
use crate::sync::{
    Arc, AtomicU8, AtomicU64, CancellationToken, Mutex, Notify, Ordering, Semaphore, Weak, mpsc,
};
pub use config::{
    DEFAULT_STORE_COMMAND_TIMEOUT, DEFAULT_STORE_MAX_EVENT_BYTES, DEFAULT_STORE_MAX_OUTSTANDING,
    DEFAULT_STORE_MAX_QUEUED_APPENDS, DEFAULT_STORE_MAX_RECORD_BYTES, DEFAULT_STORE_PREFIX, RedisStoreConfig,
};
use link::Link;

/// The store's counters, shared with its keeper.
#[derive(Debug, Default)]
pub(super) struct Counters {
    commands_failed: AtomicU64,
    touches_dropped: AtomicU64,
    appends_dropped: AtomicU64,
    events_dropped: AtomicU64,
    events_received: AtomicU64,
    connected: AtomicU8,
    subscribed: AtomicU8,
}

impl Counters {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// What a [`RedisStore`] has done, read with [`RedisStore::metrics`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreMetrics {
    /// Commands Redis failed or did not answer in time.
    pub commands_failed: u64,
    /// Touches not sent (no connection, or too many commands in flight)
    /// or failed.
    pub touches_dropped: u64,
    /// Stream events not kept for other replicas (too large, too many
    /// queued, no connection, or failed).
    pub appends_dropped: u64,
    /// Session events (deleted, changed, a client's answer) this store
    /// could not publish.
    pub events_dropped: u64,
    /// Session events other replicas published that reached this store.
    pub events_received: u64,
    /// True while the store holds a connection.
    pub connected: bool,
    /// True while the store is subscribed to other replicas' events.
    pub subscribed: bool,
}

/// A [`SessionStore`] in Redis (see the module documentation for what it
/// does when Redis fails). Clones are not needed: give every server of a
/// process the same `Arc`.
#[derive(Debug)]
pub struct RedisStore {
    link: Arc<Link>,
    runtime: tokio::runtime::Handle,
    /// Random per store: tells its own events from other replicas'.
    origin: String,
    /// The services of this process that take its events.
    sinks: Arc<events::Receivers>,
    /// Stream events and forgotten sessions, for the appender.
    appends: mpsc::Sender<log::Work>,
    /// Ends the keeper; cancelled when the store is dropped.
    stop: CancellationToken,
}

impl RedisStore {
    /// A store on the Redis server at `url` (`redis://HOST:PORT/DB`), its
    /// keeper started. It does not wait for Redis: until the first
    /// connection is made, calls fail at once.
    ///
    /// # Errors
    ///
    /// When `url` is not a Redis address.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn start(url: &str, config: RedisStoreConfig) -> Result<Arc<Self>, StoreError> {
        let dial = Dial::url(url).map_err(|why| address(url, &why))?;
        Ok(Self::started(dial, config))
    }

    /// A store whose connections `connector` opens (a proxy, a tunnel, a
    /// simulated network); `url` gives only the database and credentials.
    /// Otherwise as [`RedisStore::start`].
    ///
    /// # Errors
    ///
    /// When `url` is not a Redis address.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn start_with(
        url: &str,
        connector: Arc<dyn RedisConnector>,
        config: RedisStoreConfig,
    ) -> Result<Arc<Self>, StoreError> {
        let dial = Dial::own(url, connector).map_err(|why| address(url, &why))?;
        Ok(Self::started(dial, config))
    }

    fn started(dial: Dial, config: RedisStoreConfig) -> Arc<Self> {
        let link = Arc::new(Link {
            dial,
            outstanding: Arc::new(Semaphore::new(config.max_outstanding.max(1))),
            config,
            current: Mutex::new(None),
            suspect: Notify::new(),
            counters: Counters::default(),
        });
        let mut origin = [0u8; 8];
        crate::sync::random_fill(&mut origin);
        let (appends, queued) = mpsc::channel(link.config.max_queued_appends.max(1));
        let store = Self {
            appends,
            link,
            runtime: tokio::runtime::Handle::current(),
            origin: origin.iter().map(|b| format!("{b:02x}")).collect(),
            sinks: Arc::default(),
            stop: CancellationToken::new(),
        };
        store
            .runtime
            .spawn(Arc::clone(&store.link).keep(store.stop.clone()));
        let subscriber = events::subscribe(
            Arc::clone(&store.link),
            store.origin.clone(),
            Arc::clone(&store.sinks),
            store.stop.clone(),
        );
        store.runtime.spawn(subscriber);
        let appender = log::run(Arc::clone(&store.link), queued, store.stop.clone());
        store.runtime.spawn(appender);
        Arc::new(store)
    }

    /// The counters now.
    pub fn metrics(&self) -> StoreMetrics {
        let c = &self.link.counters;
        StoreMetrics {
            commands_failed: c.commands_failed.load(Ordering::Relaxed),
            touches_dropped: c.touches_dropped.load(Ordering::Relaxed),
            appends_dropped: c.appends_dropped.load(Ordering::Relaxed),
            events_dropped: c.events_dropped.load(Ordering::Relaxed),
            events_received: c.events_received.load(Ordering::Relaxed),
            connected: c.connected.load(Ordering::Relaxed) == 1,
            subscribed: c.subscribed.load(Ordering::Relaxed) == 1,
        }
    }

    fn key(&self, sid: &str) -> String {
        format!("{}{sid}", self.link.config.prefix)
    }

    fn task_key(&self, id: &str) -> String {
        format!("{}task:{id}", self.link.config.prefix)
    }

    /// Saves `record` (of a `what`) as JSON under `key` for `ttl`; refused
    /// over the size limit.
    async fn put(
        &self,
        key: String,
        record: &impl serde::Serialize,
        ttl: Duration,
        what: &str,
    ) -> Result<(), StoreError> {
        let encoded = serde_json::to_vec(record).map_err(|e| StoreError(e.to_string()))?;
        let max = self.link.config.max_record_bytes;
        if encoded.len() > max {
            return Err(StoreError(format!(
                "a {what} record of {} bytes is over the store's {max}",
                encoded.len()
            )));
        }
        let mut set = redis::cmd("SET");
        set.arg(key).arg(encoded).arg("PX").arg(millis(ttl));
        self.query::<()>(set).await
    }

    /// The JSON record under `key` (of `what` `id`), if there is one.
    async fn fetch<T: serde::de::DeserializeOwned>(
        &self,
        key: String,
        what: &str,
        id: &str,
    ) -> Result<Option<T>, StoreError> {
        let mut get = redis::cmd("GET");
        get.arg(key);
        let Some(bytes) = self.query::<Option<Vec<u8>>>(get).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError(format!("the record of {what} {id} is unreadable: {e}")))
    }

    /// Runs `command` within the command timeout.
    async fn query<T: redis::FromRedisValue>(&self, command: redis::Cmd) -> Result<T, StoreError> {
        let (mut connection, _permit) = self.link.take()?;
        match tokio::time::timeout(
            self.link.config.command_timeout,
            command.query_async(&mut connection),
        )
        .await
        {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.link.failed(&error)),
            Err(_elapsed) => Err(self.link.failed(&timed_out())),
        }
    }
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn address(url: &str, why: &str) -> StoreError {
    StoreError(format!("state store address {url:?}: {why}"))
}

fn timed_out() -> RedisError {
    RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "no answer in time",
    ))
}

/// Milliseconds of `ttl`, at least 1 (Redis refuses 0).
fn millis(ttl: Duration) -> u64 {
    (ttl.as_millis() as u64).max(1)
}

impl SessionStore for RedisStore {
    fn save<'a>(&'a self, sid: &'a str, record: &'a SessionRecord, ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(self.put(self.key(sid), record, ttl, "session"))
    }

    fn load<'a>(&'a self, sid: &'a str) -> StoreFuture<'a, Option<SessionRecord>> {
        Box::pin(self.fetch(self.key(sid), "session", sid))
    }

    fn remove<'a>(&'a self, sid: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut del = redis::cmd("DEL");
            del.arg(self.key(sid));
            self.query::<i64>(del).await.map(drop)
        })
    }

    fn touch(&self, sid: &str, ttl: Duration) {
        let Ok((mut connection, permit)) = self.link.take() else {
            Counters::add(&self.link.counters.touches_dropped);
            return;
        };
        let mut expire = redis::cmd("PEXPIRE");
        expire.arg(self.key(sid)).arg(millis(ttl));
        let link = Arc::clone(&self.link);
        self.runtime.spawn(async move {
            let _permit = permit;
            let sent = tokio::time::timeout(
                link.config.command_timeout,
                expire.query_async::<i64>(&mut connection),
            );
            if !matches!(sent.await, Ok(Ok(_))) {
                Counters::add(&link.counters.touches_dropped);
                link.suspect.notify_one();
            }
        });
    }

    fn attach(&self, sink: Weak<dyn SessionEvents>) -> u64 {
        self.sinks.sessions.attach(sink)
    }

    fn announce(&self, origin: u64, sid: &str, event: &SessionEvent) {
        self.sinks.sessions.deliver(origin, sid, event);
        events::publish(&self.link, &self.runtime, &self.origin, sid, event);
    }
}

impl EventStore for RedisStore {
    fn append(&self, sid: &str, stream: u64, kind: StreamKind, seq: u64, event: &Bytes, ttl: Duration) {
        let work = log::Work::Append {
            sid: sid.to_owned(),
            stream,
            kind,
            seq,
            event: event.clone(),
            ttl_ms: millis(ttl),
        };
        log::queue(&self.link, &self.appends, work);
    }

    fn stream<'a>(&'a self, sid: &'a str, stream: u64) -> StoreFuture<'a, Option<LoggedStream>> {
        Box::pin(async move {
            let mut range = redis::cmd("XRANGE");
            let key = format!("{}{stream}", log::stream_prefix(&self.link.config.prefix, sid));
            range.arg(key).arg("-").arg("+");
            log::read(self.query(range).await?, sid)
        })
    }

    fn forget(&self, sid: &str) {
        let work = log::Work::Forget { sid: sid.to_owned() };
        log::queue(&self.link, &self.appends, work);
    }
}

impl TaskStore for RedisStore {
    fn save_task<'a>(&'a self, record: &'a TaskRecord, ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(self.put(self.task_key(&record.id), record, ttl, "task"))
    }

    fn load_task<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<TaskRecord>> {
        Box::pin(self.fetch(self.task_key(id), "task", id))
    }

    fn attach_tasks(&self, sink: Weak<dyn TaskEvents>) -> u64 {
        self.sinks.tasks.attach(sink)
    }

    fn announce_task(&self, origin: u64, event: &TaskEvent) {
        self.sinks.tasks.deliver_task(origin, event);
        events::publish_task(&self.link, &self.runtime, &self.origin, event);
    }
}
