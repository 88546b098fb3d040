//! The task store: what each task of the tasks extension is (its status as
//! `tasks/get` shows it, its owner, the lease of the replica running it),
//! so that `tasks/get`, `tasks/update` and `tasks/cancel` work from any
//! replica.
//!
//! The replica that runs a task is the only one that writes its record: at
//! its creation (before the client is told the task exists), at every
//! change of its status, and every third of its lease while it runs
//! (`ServerConfig::task_lease`), one save at a time. Another replica reads
//! the record; a running task whose lease lapsed (its replica stopped) is
//! reported failed, never unknown while its record lives (its time to
//! live). A `tasks/cancel` or `tasks/update` sent to another replica
//! reaches the running one as a [`TaskEvent`].

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::StoreFuture;
use crate::sync::Weak;

/// A task as a store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskRecord {
    /// The task's id.
    pub id: String,
    /// The task as `tasks/get` shows it (`taskId`, `status`, `result`, ...).
    pub detail: Value,
    /// The caller it belongs to (a key naming an authenticated principal),
    /// or `None` for a task anyone may see.
    pub owner: Option<String>,
    /// While it runs: until when (milliseconds since the epoch) its replica
    /// is taken to be alive. `None` once it ended.
    pub lease_until_ms: Option<u64>,
}

impl TaskRecord {
    /// A record of task `id` shown as `detail`, anyone's, ended (for a
    /// store's own tests).
    pub fn new(id: impl Into<String>, detail: Value) -> Self {
        Self {
            id: id.into(),
            detail,
            owner: None,
            lease_until_ms: None,
        }
    }
}

/// What one replica asks of the replica that runs a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskEvent {
    /// `tasks/cancel` from `caller`.
    Cancel {
        /// The task.
        id: String,
        /// Who asked (checked again by the running replica).
        caller: Option<String>,
    },
    /// `tasks/update` from `caller`: answers to the task's questions.
    Update {
        /// The task.
        id: String,
        /// Who asked (checked again by the running replica).
        caller: Option<String>,
        /// The answers, by question key.
        responses: Map<String, Value>,
    },
}

/// What a replica does with the task events other replicas announce (a
/// server with a task store registers one).
pub trait TaskEvents: Send + Sync + 'static {
    /// Acts on `event` if the task runs here; never waits.
    fn on_task_event(&self, event: TaskEvent);
}

/// Keeps task records, each for a time to live.
///
/// Implementations never block the caller's thread; each call is bounded in
/// time by the store (a store that cannot answer fails).
pub trait TaskStore: Send + Sync + fmt::Debug + 'static {
    /// Saves `record`, for `ttl`.
    fn save_task<'a>(&'a self, record: &'a TaskRecord, ttl: Duration) -> StoreFuture<'a, ()>;

    /// The record of task `id`, if it lives.
    fn load_task<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<TaskRecord>>;

    /// Registers `sink`: task events other replicas announce reach it from
    /// then on. Returns the origin to announce with. The default keeps no
    /// sink.
    fn attach_tasks(&self, sink: Weak<dyn TaskEvents>) -> u64 {
        let _ = sink;
        0
    }

    /// Tells every other sink `event`, without waiting; best effort. The
    /// default does nothing.
    fn announce_task(&self, origin: u64, event: &TaskEvent) {
        let _ = (origin, event);
    }
}
