//! The task table (the tasks extension, `io.modelcontextprotocol/tasks`):
//! tasks by id, each a small state machine with a token that stops its
//! work.
//!
//! ```text
//! create -> working <-> input_required -> completed | failed | cancelled
//! ```
//!
//! Invariants (checked by the loom and shuttle models):
//! 1. At most `cap` tasks are held at once; `create` past it fails at once
//!    ([`TaskRefusal::Full`]), and after [`TaskTable::close`] it fails with
//!    [`TaskRefusal::Closed`]: nothing waits for room.
//! 2. A task reaches a terminal status once: the first of finish and
//!    cancel wins, and nothing overwrites it.
//! 3. A task that leaves the table (it expired) or whose table closed
//!    (shutdown) has its token cancelled: no work goes on for a task nobody
//!    can see.
//!
//! Time is passed in (milliseconds since the epoch), so the table holds no
//! clock and expiry is checked when the table is used: every `create` and
//! `get` first removes the tasks past their TTL ([`TaskTable::sweep`] does
//! only that), and [`TaskTable::expire_task`] removes one whose own timer
//! says its TTL is over (the server keeps one per task). Lock order: the table's
//! lock alone; tokens are cancelled after it is released.

use std::collections::HashMap;

use serde_json::Value;

use crate::sync::{CancellationToken, Mutex, mutant};

/// Where a task is.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskStatus {
    /// Running.
    Working,
    /// Waiting for the client: the questions, by key.
    InputRequired(Value),
    /// Ended with this result.
    Completed(Value),
    /// Ended with this JSON-RPC error object.
    Failed(Value),
    /// Cancelled before it ended.
    Cancelled,
}

impl TaskStatus {
    /// True for `completed`, `failed` and `cancelled`.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Completed(_) | Self::Failed(_) | Self::Cancelled)
    }

    /// The status as the wire names it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Working => "working",
            Self::InputRequired(_) => "input_required",
            Self::Completed(_) => "completed",
            Self::Failed(_) => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// What `tasks/get` shows of a task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSnapshot {
    /// The task's id.
    pub id: String,
    /// Its status.
    pub status: TaskStatus,
    /// When it was created, in milliseconds since the epoch.
    pub created_ms: u64,
    /// When its status last changed, in milliseconds since the epoch.
    pub updated_ms: u64,
    /// Its time to live from creation, in milliseconds.
    pub ttl_ms: u64,
    /// The caller it belongs to (a key naming an authenticated principal),
    /// or `None` for a task anyone may see.
    pub owner: Option<String>,
}

impl TaskSnapshot {
    /// True if `caller` may see and steer the task: its owner, or anyone
    /// for a task without one.
    pub fn serves(&self, caller: Option<&str>) -> bool {
        owned_by(self.owner.as_deref(), caller)
    }
}

fn owned_by(owner: Option<&str>, caller: Option<&str>) -> bool {
    owner.is_none_or(|owner| Some(owner) == caller)
}

/// Why a task was not created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskRefusal {
    /// The table holds its maximum of tasks.
    #[error("the server holds its maximum of {0} tasks")]
    Full(usize),
    /// The server is shutting down.
    #[error("the server is shutting down")]
    Closed,
}

#[derive(Debug)]
struct Entry {
    status: TaskStatus,
    token: CancellationToken,
    created_ms: u64,
    updated_ms: u64,
    ttl_ms: u64,
    owner: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    tasks: HashMap<String, Entry>,
    next: u64,
    closed: bool,
}

/// The tasks of a server.
#[derive(Debug)]
pub struct TaskTable {
    inner: Mutex<Inner>,
    cap: usize,
    /// Prefixes task ids, so that they are unguessable across restarts.
    prefix: String,
}

impl TaskTable {
    /// A table of at most `cap` tasks whose ids start with `prefix`.
    pub fn new(cap: usize, prefix: impl Into<String>) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            cap: cap.max(1),
            prefix: prefix.into(),
        }
    }

    /// Removes the tasks past their TTL; returns their tokens to cancel.
    fn expire(inner: &mut Inner, now_ms: u64) -> Vec<CancellationToken> {
        let expired: Vec<String> = inner
            .tasks
            .iter()
            .filter(|(_, e)| e.created_ms.saturating_add(e.ttl_ms) < now_ms)
            .map(|(id, _)| id.clone())
            .collect();
        expired
            .into_iter()
            .filter_map(|id| inner.tasks.remove(&id))
            .map(|e| e.token)
            .filter(|_| !mutant("task_expiry_keeps_running"))
            .collect()
    }

    /// A new working task living `ttl_ms` from `now_ms`, whose work
    /// `token` stops (cancelled with the task, its expiry or the table's
    /// close); its id.
    ///
    /// # Errors
    ///
    /// [`TaskRefusal::Full`] at the cap, [`TaskRefusal::Closed`] after
    /// [`TaskTable::close`].
    pub fn create(&self, token: &CancellationToken, now_ms: u64, ttl_ms: u64) -> Result<String, TaskRefusal> {
        self.create_owned(token, None, now_ms, ttl_ms)
    }

    /// [`TaskTable::create`], for a task that belongs to `owner`.
    ///
    /// # Errors
    ///
    /// As [`TaskTable::create`].
    pub fn create_owned(
        &self,
        token: &CancellationToken,
        owner: Option<String>,
        now_ms: u64,
        ttl_ms: u64,
    ) -> Result<String, TaskRefusal> {
        let (created, expired) = {
            let mut inner = self.inner.lock();
            let expired = Self::expire(&mut inner, now_ms);
            let created = if inner.closed {
                Err(TaskRefusal::Closed)
            } else if inner.tasks.len() >= self.cap {
                Err(TaskRefusal::Full(self.cap))
            } else {
                inner.next += 1;
                let id = format!("{}-{}", self.prefix, inner.next);
                inner.tasks.insert(
                    id.clone(),
                    Entry {
                        status: TaskStatus::Working,
                        token: token.clone(),
                        created_ms: now_ms,
                        updated_ms: now_ms,
                        ttl_ms,
                        owner,
                    },
                );
                Ok(id)
            };
            (created, expired)
        };
        expired.iter().for_each(CancellationToken::cancel);
        created
    }

    /// Moves a task that is not terminal to `status`; true if it moved.
    /// A terminal status is never overwritten (invariant 2).
    pub fn set(&self, id: &str, status: TaskStatus, now_ms: u64) -> bool {
        let mut inner = self.inner.lock();
        let Some(entry) = inner.tasks.get_mut(id) else {
            return false;
        };
        if entry.status.is_terminal() && !mutant("task_terminal_overwritten") {
            return false;
        }
        entry.status = status;
        entry.updated_ms = now_ms;
        true
    }

    /// Cancels a task: its token, and its status unless it already ended.
    /// `None` if no such task.
    pub fn cancel(&self, id: &str, now_ms: u64) -> Option<TaskSnapshot> {
        self.cancel_by(id, None, now_ms)
    }

    /// [`TaskTable::cancel`] by `caller`: `None`, and nothing cancelled,
    /// for a task that belongs to someone else.
    pub fn cancel_by(&self, id: &str, caller: Option<&str>, now_ms: u64) -> Option<TaskSnapshot> {
        let (token, snapshot) = {
            let mut inner = self.inner.lock();
            let entry = inner
                .tasks
                .get_mut(id)
                .filter(|e| owned_by(e.owner.as_deref(), caller))?;
            if !entry.status.is_terminal() {
                entry.status = TaskStatus::Cancelled;
                entry.updated_ms = now_ms;
            }
            (entry.token.clone(), snapshot(id, entry))
        };
        token.cancel();
        Some(snapshot)
    }

    /// The task `id` as it is now; `None` if unknown or expired.
    pub fn get(&self, id: &str, now_ms: u64) -> Option<TaskSnapshot> {
        let (found, expired) = {
            let mut inner = self.inner.lock();
            let expired = Self::expire(&mut inner, now_ms);
            (inner.tasks.get(id).map(|e| snapshot(id, e)), expired)
        };
        expired.iter().for_each(CancellationToken::cancel);
        found
    }

    /// Refuses new tasks and cancels every task's work (shutdown).
    pub fn close(&self) {
        let tokens: Vec<CancellationToken> = {
            let mut inner = self.inner.lock();
            inner.closed = true;
            inner.tasks.values().map(|e| e.token.clone()).collect()
        };
        tokens.iter().for_each(CancellationToken::cancel);
    }

    /// True once [`TaskTable::close`] ran: a task's status read after this
    /// says false may still be a closing cancel's.
    pub fn is_closed(&self) -> bool {
        self.inner.lock().closed
    }

    /// Removes the tasks past their TTL at `now_ms` and stops their work,
    /// as every `create` and `get` does first; the tasks held after.
    pub fn sweep(&self, now_ms: u64) -> usize {
        let (held, expired) = {
            let mut inner = self.inner.lock();
            let expired = Self::expire(&mut inner, now_ms);
            (inner.tasks.len(), expired)
        };
        expired.iter().for_each(CancellationToken::cancel);
        held
    }

    /// Removes task `id`, whose TTL is over by its own timer, and stops its
    /// work; false if it was not held.
    pub fn expire_task(&self, id: &str) -> bool {
        let entry = self.inner.lock().tasks.remove(id);
        let held = entry.is_some();
        if let Some(entry) = entry.filter(|_| !mutant("task_expiry_keeps_running")) {
            entry.token.cancel();
        }
        held
    }

    /// Tasks held now.
    pub fn len(&self) -> usize {
        self.inner.lock().tasks.len()
    }

    /// True if no task is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn snapshot(id: &str, entry: &Entry) -> TaskSnapshot {
    TaskSnapshot {
        id: id.to_owned(),
        status: entry.status.clone(),
        created_ms: entry.created_ms,
        updated_ms: entry.updated_ms,
        ttl_ms: entry.ttl_ms,
        owner: entry.owner.clone(),
    }
}

#[cfg(all(test, not(any(loom, shuttle))))]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_terminal_status_wins_and_the_cap_refuses_at_once() {
        let root = CancellationToken::new();
        let table = TaskTable::new(2, "t");
        let token_a = root.child_token();
        let a = table.create(&token_a, 0, 1000).unwrap();
        table.create(&root.child_token(), 0, 1000).unwrap();
        assert_eq!(
            table.create(&root.child_token(), 0, 1000).unwrap_err(),
            TaskRefusal::Full(2)
        );
        assert!(table.set(&a, TaskStatus::InputRequired(json!({})), 1));
        assert_eq!(table.cancel(&a, 2).unwrap().status, TaskStatus::Cancelled);
        assert!(token_a.is_cancelled());
        assert!(
            !table.set(&a, TaskStatus::Completed(json!({})), 3),
            "cancelled stays cancelled"
        );
        assert_eq!(table.get(&a, 4).unwrap().status, TaskStatus::Cancelled);
        assert!(table.cancel("nope", 5).is_none());
    }

    #[test]
    fn expiry_and_close_stop_the_work() {
        let root = CancellationToken::new();
        let table = TaskTable::new(4, "t");
        let token_a = root.child_token();
        let a = table.create(&token_a, 0, 10).unwrap();
        assert!(table.get(&a, 10).is_some(), "alive through its TTL");
        assert!(table.get(&a, 11).is_none());
        assert!(token_a.is_cancelled(), "an expired task's work is stopped");
        let token_b = root.child_token();
        table.create(&token_b, 20, 10).unwrap();
        table.close();
        assert!(token_b.is_cancelled());
        assert_eq!(
            table.create(&root.child_token(), 21, 10).unwrap_err(),
            TaskRefusal::Closed
        );
    }

    #[test]
    fn an_owned_task_is_seen_and_cancelled_by_its_owner_only() {
        let table = TaskTable::new(4, "t");
        let root = CancellationToken::new();
        let token = root.child_token();
        let id = table
            .create_owned(&token, Some("alice".to_owned()), 0, 1000)
            .unwrap();
        let snapshot = table.get(&id, 1).unwrap();
        assert!(snapshot.serves(Some("alice")));
        assert!(!snapshot.serves(Some("bob")) && !snapshot.serves(None));
        assert!(table.cancel_by(&id, Some("bob"), 2).is_none());
        assert!(table.cancel(&id, 2).is_none());
        assert!(!token.is_cancelled(), "nobody but alice cancels it");
        assert_eq!(
            table.cancel_by(&id, Some("alice"), 3).unwrap().status,
            TaskStatus::Cancelled
        );
        assert!(token.is_cancelled());
        let open = table.create(&root.child_token(), 0, 1000).unwrap();
        assert!(table.get(&open, 1).unwrap().serves(Some("bob")));
    }
}
