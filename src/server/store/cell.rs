//! The latest record of one session and whether the store has it: the
//! session's state publishes a new record whenever it changes, and the
//! transport saves it before it answers the message that changed it.
//!
//! Saves of one session are made one at a time (a lock), each with the
//! newest record, so an older record never overwrites a newer one.

use std::time::Duration;

use super::{SessionOwner, SessionRecord, SessionStore, StoreError};
use crate::sync::{AsyncMutex, AtomicU64, Mutex, Notify, Ordering};

/// One session's latest record.
#[derive(Debug)]
pub(crate) struct RecordCell {
    /// The session's id (`Mcp-Session-Id`), its key in the store.
    sid: String,
    /// Who opened the session, written into every record.
    owner: Option<SessionOwner>,
    /// The latest record and its revision (counting from 1; 0: none yet).
    latest: Mutex<(u64, Option<SessionRecord>)>,
    /// The latest revision, read without the lock (written under it).
    revision: AtomicU64,
    /// The revision the store last saved.
    saved: AtomicU64,
    /// Held by the one save in progress.
    saving: AsyncMutex<()>,
    /// A record another replica saved, for the session's task to take up.
    arrived: Mutex<Option<SessionRecord>>,
    /// Told when one arrives.
    arrival: Notify,
}

impl RecordCell {
    /// A cell with no record yet, for session `sid` opened by `owner`.
    pub(crate) fn new(sid: String, owner: Option<SessionOwner>) -> Self {
        Self {
            sid,
            owner,
            latest: Mutex::new((0, None)),
            revision: AtomicU64::new(0),
            saved: AtomicU64::new(0),
            saving: AsyncMutex::new(()),
            arrived: Mutex::new(None),
            arrival: Notify::new(),
        }
    }

    /// A cell holding `record`, which the store already has as session
    /// `sid` (a session resumed from it).
    pub(crate) fn saved(sid: String, record: SessionRecord) -> Self {
        Self {
            sid,
            owner: record.owner.clone(),
            latest: Mutex::new((0, Some(record))),
            revision: AtomicU64::new(0),
            saved: AtomicU64::new(0),
            saving: AsyncMutex::new(()),
            arrived: Mutex::new(None),
            arrival: Notify::new(),
        }
    }

    /// The session's id, its key in the store.
    pub(crate) fn sid(&self) -> &str {
        &self.sid
    }

    /// Makes `record` the latest (its owner is the cell's).
    pub(crate) fn publish(&self, mut record: SessionRecord) {
        record.owner.clone_from(&self.owner);
        let mut latest = self.latest.lock();
        latest.0 += 1;
        latest.1 = Some(record);
        self.revision.store(latest.0, Ordering::Release);
    }

    /// Takes up `record`, which another replica saved: it is the latest
    /// (and saved), and the session's task is told (see [`Self::arrived`]).
    pub(crate) fn arrive(&self, record: SessionRecord) {
        {
            let mut latest = self.latest.lock();
            latest.0 += 1;
            latest.1 = Some(record.clone());
            self.saved.store(latest.0, Ordering::Release);
            self.revision.store(latest.0, Ordering::Release);
        }
        *self.arrived.lock() = Some(record);
        self.arrival.notify_one();
    }

    /// Waits for a record another replica saved, and takes it.
    pub(crate) async fn arrived(&self) -> SessionRecord {
        loop {
            if let Some(record) = self.arrived.lock().take() {
                return record;
            }
            self.arrival.notified().await;
        }
    }

    /// True if the latest record is newer than what the store has.
    pub(crate) fn unsaved(&self) -> bool {
        self.revision.load(Ordering::Acquire) > self.saved.load(Ordering::Acquire)
    }

    /// Saves the latest record for `ttl`, unless the store has it already.
    /// Returns once the store has it (or this failed): the record this
    /// call saved, if it saved one.
    pub(crate) async fn flush(
        &self,
        store: &dyn SessionStore,
        ttl: Duration,
    ) -> Result<Option<SessionRecord>, StoreError> {
        if !self.unsaved() {
            return Ok(None);
        }
        let _one_at_a_time = self.saving.lock().await;
        let (revision, record) = {
            let latest = self.latest.lock();
            (latest.0, latest.1.clone())
        };
        let Some(record) = record else { return Ok(None) };
        if revision <= self.saved.load(Ordering::Acquire) {
            return Ok(None);
        }
        store.save(&self.sid, &record, ttl).await?;
        self.saved.fetch_max(revision, Ordering::AcqRel);
        Ok(Some(record))
    }
}
