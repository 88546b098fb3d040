//! Tasks in a task store (`crate::server::store::TaskStore`): the running
//! replica keeps each of its tasks' records there, and any other replica
//! answers `tasks/get`, `tasks/update` and `tasks/cancel` from them.
//!
//! - **The running replica** saves a task's record when it is created
//!   (the client is told the task exists only once the store has it), at
//!   every change of its status, and every third of its lease while it
//!   runs, one save at a time ([`keep`]). An ended task's record is saved
//!   until the store takes it; one the store refuses while it takes a
//!   smaller record (a result over its size limit) is kept as failed,
//!   saying so.
//! - **Another replica** reads the record. A running task whose lease
//!   lapsed (its replica stopped, or lost the store) is shown failed, with
//!   a message that says so. A cancel or an update is checked against the
//!   record's owner, then announced for the running replica, which checks
//!   it again and acts on it.

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use super::TaskQuestions;
use super::view::{detailed, iso8601, unknown};
use crate::core::TaskSnapshot;
use crate::metrics::incr;
use crate::protocol::jsonrpc::{ErrorObject, INTERNAL_ERROR};
use crate::server::Shared;
use crate::server::store::{StoreError, TaskEvent, TaskEvents, TaskRecord, TaskStore};
use crate::sync::{Arc, now_ms, oneshot};

/// The longest one store call may take.
const STORE_WAIT: Duration = Duration::from_secs(2);
/// The longest wait before saving again a record the store did not take.
const RETRY: Duration = Duration::from_secs(1);

/// The record of the task `snapshot` shows, its lease `lease` from now
/// while it runs.
fn record_of(snapshot: &TaskSnapshot, lease: Duration) -> TaskRecord {
    let mut record = TaskRecord::new(snapshot.id.clone(), detailed(snapshot));
    record.owner.clone_from(&snapshot.owner);
    record.lease_until_ms =
        (!snapshot.status.is_terminal()).then(|| now_ms().saturating_add(lease.as_millis() as u64));
    record
}

/// Ended task `snapshot`, whose record the store refused with `error`:
/// saves in its place the task as failed, saying its outcome was not kept.
/// True if the store took that (so the refusal was the record's, one too
/// large, not the store's); the whole record is then tried once more, in
/// case the store was only briefly away. Other replicas then report why,
/// not that the task's server stopped.
async fn kept_instead(
    store: &dyn TaskStore,
    snapshot: &TaskSnapshot,
    lease: Duration,
    ttl: Duration,
    error: &StoreError,
) -> bool {
    let mut record = record_of(snapshot, lease);
    let message = format!(
        "task {}: its outcome was not kept for other servers: {error}",
        snapshot.id
    );
    record.detail["status"] = json!("failed");
    record.detail["error"] =
        serde_json::to_value(ErrorObject::internal(message)).expect("an error object is JSON");
    if let Some(task) = record.detail.as_object_mut() {
        task.remove("result");
    }
    if bounded(store.save_task(&record, ttl)).await.is_err() {
        return false;
    }
    tracing::warn!(%error, task = %snapshot.id, "task store: an ended task kept as failed instead");
    let _ = bounded(store.save_task(&record_of(snapshot, lease), ttl)).await;
    true
}

/// Runs `call` within [`STORE_WAIT`].
async fn bounded<T>(call: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    tokio::time::timeout(STORE_WAIT, call).await.unwrap_or_else(|_| {
        Err(StoreError(format!(
            "no answer within {} ms",
            STORE_WAIT.as_millis()
        )))
    })
}

/// The error a request gets when the store failed: retryable; counted.
fn store_failed(shared: &Shared, error: &StoreError) -> ErrorObject {
    incr(&shared.core.metrics_ref().store_failures);
    tracing::warn!(%error, "task store failed");
    ErrorObject::new(INTERNAL_ERROR, format!("{error}; send the request again"))
}

/// Keeps the record of task `id` (held here) in `store` while the task is
/// held: saved at once, again whenever `task.changed` is told, and every
/// third of the lease while it runs; done once an ended task's record is
/// saved, the task left the table, or at shutdown. The receiver gets the
/// outcome of the first save; after a failed one the task is given up.
pub(super) fn keep(
    shared: &Arc<Shared>,
    store: Arc<dyn TaskStore>,
    id: String,
    task: Arc<TaskQuestions>,
) -> oneshot::Receiver<Result<(), StoreError>> {
    let (first_tx, first_rx) = oneshot::channel();
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let lease = shared.config.task_lease;
        let shutdown = shared.core.shutdown_token();
        let mut first = Some(first_tx);
        loop {
            let now = now_ms();
            let Some(snapshot) = shared.tasks.table.get(&id, now) else {
                return;
            };
            // Closed (shutdown): the status read may be the closing cancel,
            // which is not saved; the lease lapses and other replicas say
            // the task's server stopped.
            if shared.tasks.table.is_closed() {
                return;
            }
            let left = snapshot
                .created_ms
                .saturating_add(snapshot.ttl_ms)
                .saturating_sub(now);
            let ttl = Duration::from_millis(left.max(1));
            let saved = bounded(store.save_task(&record_of(&snapshot, lease), ttl)).await;
            if let Some(first) = first.take() {
                let given_up = saved.is_err();
                let _ = first.send(saved.clone());
                if given_up {
                    return;
                }
            } else if let Err(error) = &saved {
                incr(&shared.core.metrics_ref().store_failures);
                tracing::warn!(%error, task = %id, "task store: a task's record was not saved");
            }
            if snapshot.status.is_terminal() {
                match &saved {
                    Ok(()) => return,
                    Err(error) if kept_instead(&*store, &snapshot, lease, ttl, error).await => return,
                    Err(_) => {}
                }
            }
            let wait = if saved.is_ok() {
                lease / 3
            } else {
                (lease / 3).min(RETRY)
            };
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                () = task.changed.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    });
    first_rx
}

/// The answer to a call that became task `id`, once its record is saved
/// (`first`); if it could not be, the task is stopped and the answer is a
/// retryable error.
pub(super) fn answer_once_saved(
    shared: &Arc<Shared>,
    id: String,
    answer: Value,
    first: oneshot::Receiver<Result<(), StoreError>>,
) -> BoxFuture<'static, Result<Value, ErrorObject>> {
    let shared = Arc::clone(shared);
    Box::pin(async move {
        let saved = first
            .await
            .unwrap_or_else(|_| Err(StoreError("the server is shutting down".into())));
        match saved {
            Ok(()) => Ok(answer),
            Err(error) => {
                shared.tasks.table.expire_task(&id);
                Err(store_failed(&shared, &error))
            }
        }
    })
}

/// `tasks/get` for a task not held here: from its record.
pub(crate) async fn get(
    shared: Arc<Shared>,
    store: Arc<dyn TaskStore>,
    id: String,
    caller: Option<String>,
) -> Result<Value, ErrorObject> {
    let record = find(&shared, &*store, &id, caller.as_deref()).await?;
    Ok(shown(record, now_ms()))
}

/// `tasks/cancel` or `tasks/update` (`event`) for a task not held here:
/// checked against its record, then announced for the replica that runs
/// it. Nothing to do for a task that ended or whose replica stopped.
pub(crate) async fn steer(
    shared: Arc<Shared>,
    store: Arc<dyn TaskStore>,
    event: TaskEvent,
) -> Result<Value, ErrorObject> {
    let (id, caller) = match &event {
        TaskEvent::Cancel { id, caller } | TaskEvent::Update { id, caller, .. } => (id, caller),
    };
    let record = find(&shared, &*store, id, caller.as_deref()).await?;
    if record.lease_until_ms.is_some_and(|until| until > now_ms()) {
        store.announce_task(shared.task_origin, &event);
    }
    Ok(json!({}))
}

/// The record of task `id` if `caller` may see it.
async fn find(
    shared: &Shared,
    store: &dyn TaskStore,
    id: &str,
    caller: Option<&str>,
) -> Result<TaskRecord, ErrorObject> {
    let record = bounded(store.load_task(id))
        .await
        .map_err(|error| store_failed(shared, &error))?;
    record
        .filter(|r| r.owner.as_deref().is_none_or(|owner| Some(owner) == caller))
        .ok_or_else(|| unknown(id))
}

/// The task `record` shows at `now`: as saved, or failed if it was running
/// and its lease lapsed.
fn shown(record: TaskRecord, now: u64) -> Value {
    let mut detail = record.detail;
    if let Some(until) = record.lease_until_ms
        && until <= now
    {
        let message = format!(
            "task {}: the server running it stopped (no word from it since {})",
            record.id,
            iso8601(until)
        );
        detail["status"] = json!("failed");
        detail["lastUpdatedAt"] = json!(iso8601(until));
        detail["error"] =
            serde_json::to_value(ErrorObject::internal(message)).expect("an error object is JSON");
        if let Some(task) = detail.as_object_mut() {
            task.remove("inputRequests");
        }
    }
    detail
}

/// Every replica hears every task event; one that does not run the task
/// finds it unknown and does nothing.
impl TaskEvents for Shared {
    fn on_task_event(&self, event: TaskEvent) {
        match event {
            TaskEvent::Cancel { id, caller } => {
                let _ = self.tasks.cancel(self, &id, caller.as_deref());
            }
            TaskEvent::Update {
                id,
                caller,
                responses,
            } => {
                let _ = self.tasks.update(self, &id, caller.as_deref(), &responses);
            }
        }
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;
    use crate::server::store::MemoryStore;

    #[tokio::test]
    async fn another_callers_task_is_unknown_and_is_not_steered() {
        let store = MemoryStore::new();
        let server = crate::Server::builder()
            .task_store(Arc::new(store.clone()))
            .build();
        let mut record = TaskRecord::new("t", json!({"taskId": "t", "status": "working"}));
        record.owner = Some("alice".into());
        record.lease_until_ms = Some(u64::MAX);
        store.save_task(&record, Duration::from_secs(60)).await.unwrap();
        let shared = || Arc::clone(&server.shared);
        let as_caller =
            |who: Option<&str>| get(shared(), Arc::new(store.clone()), "t".into(), who.map(Into::into));
        assert_eq!(as_caller(Some("alice")).await.unwrap()["status"], "working");
        for other in [Some("bob"), None] {
            let error = as_caller(other).await.unwrap_err();
            assert_eq!(error.code, crate::protocol::jsonrpc::INVALID_PARAMS, "{other:?}");
            let cancel = TaskEvent::Cancel {
                id: "t".into(),
                caller: other.map(Into::into),
            };
            assert!(steer(shared(), Arc::new(store.clone()), cancel).await.is_err());
        }
        let unknown = get(shared(), Arc::new(store.clone()), "u".into(), None).await;
        assert!(unknown.unwrap_err().message.contains("unknown task: u"));
    }

    #[test]
    fn a_running_task_whose_lease_lapsed_shows_failed() {
        let detail = json!({"taskId": "t", "status": "input_required", "inputRequests": {"a": {}}});
        let mut record = TaskRecord::new("t", detail.clone());
        record.lease_until_ms = Some(1_000);
        assert_eq!(shown(record.clone(), 999), detail, "still leased");
        let lapsed = shown(record, 1_000);
        assert_eq!(lapsed["status"], "failed");
        assert!(lapsed.get("inputRequests").is_none());
        let message = lapsed["error"]["message"].as_str().unwrap();
        assert!(message.contains("the server running it stopped"), "{message}");
        let ended = TaskRecord::new("t", json!({"status": "completed"}));
        assert_eq!(shown(ended, u64::MAX)["status"], "completed");
    }
}
