//! The tasks extension (`io.modelcontextprotocol/tasks`, 2026-07-28): a
//! task-capable tool called by a client that declares the extension runs
//! as a task. `tools/call` answers at once with `resultType: "task"`; the
//! client polls `tasks/get`, answers the task's questions with
//! `tasks/update` and may `tasks/cancel` it; listen streams that named the
//! task get `notifications/tasks` as its status changes.
//!
//! The states and their races live in the core's model-checked
//! [`TaskTable`]; this module runs the work (one spawned task per task, its
//! token a child of the server's shutdown token, so shutdown stops it) and
//! holds the questions a running task waits on.

use std::collections::HashMap;
use std::future::Future;
use std::task::{Context, Poll};
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::config::{ReplicaId, stamped};
use crate::core::{TaskSnapshot, TaskStatus, TaskTable};
use crate::protocol::jsonrpc::ErrorObject;
use crate::protocol::mcp::{Generation, finish_result};
use crate::server::Shared;
use crate::server::ext::client_requests::{InputError, check_capabilities};
use crate::sync::{Arc, CancellationToken, Mutex, RandomState, now_ms, oneshot};

pub(crate) mod stored;
mod view;

pub use crate::protocol::tasks::TASKS_EXTENSION;
use view::{detailed, unknown};
/// How often clients are asked to poll.
pub const TASK_POLL_INTERVAL_MS: u64 = 500;
/// Questions one task may wait on at once.
const MAX_TASK_QUESTIONS: usize = 16;

/// The questions a running task waits on, by key.
#[derive(Debug, Default)]
pub(crate) struct TaskQuestions {
    waiting: Mutex<HashMap<String, (Value, oneshot::Sender<Value>), RandomState>>,
    next: crate::sync::AtomicU64,
    /// Told when the task's status changes (its record is saved again).
    changed: crate::sync::Notify,
}

/// How a call that may become a task is answered.
pub(crate) enum Started {
    /// Now, with this.
    Now(Result<Value, ErrorObject>),
    /// When this is ready: the call became a task, and the task store must
    /// have its record before the client hears of it.
    Saved(futures_util::future::BoxFuture<'static, Result<Value, ErrorObject>>),
}

/// A call that may become a task: empty until it does.
#[derive(Debug, Clone, Default)]
pub(crate) struct TaskLink {
    slot: Arc<Mutex<Option<ActiveTask>>>,
}

impl TaskLink {
    /// The task the call became, if it did.
    pub(crate) fn active(&self) -> Option<ActiveTask> {
        self.slot.lock().clone()
    }
}

/// How a task's handler asks its client something.
#[derive(Debug, Clone)]
pub(crate) struct ActiveTask {
    id: String,
    questions: Arc<TaskQuestions>,
    shared: Arc<Shared>,
    capabilities: Value,
}

impl ActiveTask {
    /// A key for a question asked without one.
    pub(crate) fn next_key(&self) -> String {
        let n = self.questions.next.fetch_add(1, crate::sync::Ordering::Relaxed) + 1;
        format!("task-input-{n}")
    }

    /// Asks question `key`: the task shows it as `input_required` until
    /// `tasks/update` answers it.
    pub(crate) async fn ask(&self, key: &str, method: &str, params: Value) -> Result<Value, InputError> {
        check_capabilities(method, &params, &self.capabilities)?;
        let (tx, rx) = oneshot::channel();
        {
            let mut waiting = self.questions.waiting.lock();
            if waiting.len() >= MAX_TASK_QUESTIONS {
                return Err(InputError::TooMany);
            }
            waiting.insert(key.to_owned(), (json!({"method": method, "params": params}), tx));
        }
        self.questions.show(&self.shared, &self.id);
        let answer = rx.await.map_err(|_| InputError::Ended);
        self.questions.waiting.lock().remove(key);
        self.questions.show(&self.shared, &self.id);
        answer
    }
}

impl TaskQuestions {
    /// Sets task `id`'s status from the questions it waits on. The status
    /// is set under their lock, so the last one set is drawn from the
    /// latest questions, whoever changed them.
    fn show(&self, shared: &Shared, id: &str) {
        let waiting = self.waiting.lock();
        let asked: Map<String, Value> = waiting.iter().map(|(k, (q, _))| (k.clone(), q.clone())).collect();
        let status = if asked.is_empty() {
            TaskStatus::Working
        } else {
            TaskStatus::InputRequired(Value::Object(asked))
        };
        shared.tasks.set(shared, id, status);
    }

    /// Hands the answers among `responses` to the questions they answer
    /// (others are ignored), and takes those questions off the task's
    /// status at once: a `tasks/get` right after `tasks/update` shows only
    /// what is still unanswered, whenever the handler next runs.
    fn answer(&self, shared: &Shared, id: &str, responses: &Map<String, Value>) {
        let mut answered = false;
        {
            let mut waiting = self.waiting.lock();
            for (key, response) in responses {
                if let Some((_, tx)) = waiting.remove(key) {
                    let _ = tx.send(response.clone());
                    answered = true;
                }
            }
        }
        if answered && !crate::sync::mutant("task_answer_shown_late") {
            self.show(shared, id);
        }
    }
}

/// Who starts a task: the capabilities its client declared (what the task
/// may ask) and the caller it will belong to, if one is known.
#[derive(Debug)]
pub(crate) struct Starter {
    pub(crate) capabilities: Value,
    pub(crate) owner: Option<String>,
}

/// The tasks of a server: the table, and the questions of running tasks.
#[derive(Debug)]
pub(crate) struct Tasks {
    table: TaskTable,
    questions: Mutex<HashMap<String, Arc<TaskQuestions>, RandomState>>,
    ttl: Duration,
}

impl Tasks {
    /// Task ids are `<random>-<n>`, after `replica`'s name when there is
    /// one, so a load balancer can route `tasks/*` (`Mcp-Name`) to the
    /// replica that holds the task.
    pub(crate) fn new(max: usize, ttl: Duration, replica: Option<&ReplicaId>) -> Self {
        let mut prefix = [0u8; 8];
        crate::sync::random_fill(&mut prefix);
        let prefix = stamped(replica, prefix.iter().map(|b| format!("{b:02x}")).collect());
        Self {
            table: TaskTable::new(max, prefix),
            questions: Mutex::new(HashMap::default()),
            ttl,
        }
    }

    /// Runs `run`, a call of a client that declared the extension, started
    /// with `token` (a child of the shutdown token) and `link` (which this
    /// fills if the call becomes a task). Its handler is first polled right
    /// here: if it finishes without waiting (an
    /// immediate result, or questions it needs answered first, which end
    /// the request with `input_required` as any 2026-07-28 call), that is
    /// the answer. Otherwise it becomes a task: the `CreateTaskResult` is
    /// the answer, and the handler goes on in a task of its own, where
    /// what it asks shows on `tasks/get` until `tasks/update` answers it.
    ///
    /// # Errors
    ///
    /// -32000 when the table is full or the server is shutting down.
    pub(crate) fn start<F>(
        &self,
        shared: &Arc<Shared>,
        token: CancellationToken,
        link: &TaskLink,
        generation: Generation,
        starter: Starter,
        mut run: F,
    ) -> Started
    where
        F: Future<Output = std::thread::Result<Result<Value, ErrorObject>>> + Send + Unpin + 'static,
    {
        let first = {
            let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
            std::pin::Pin::new(&mut run).poll(&mut cx)
        };
        if let Poll::Ready(done) = first {
            return Started::Now(match done {
                Ok(result) => result.map(|r| finish_result(generation, r, &shared.info)),
                Err(_panic) => Err(ErrorObject::internal("the handler panicked")),
            });
        }
        let now = now_ms();
        let created = self
            .table
            .create_owned(&token, starter.owner, now, self.ttl.as_millis() as u64);
        let id = match created {
            Ok(id) => id,
            Err(refusal) => {
                token.cancel();
                crate::metrics::incr(&shared.core.metrics_ref().tasks_rejected);
                let refused =
                    ErrorObject::new(crate::protocol::jsonrpc::SERVER_AT_CAPACITY, refusal.to_string());
                return Started::Now(Err(refused));
            }
        };
        let questions = Arc::new(TaskQuestions::default());
        self.questions.lock().insert(id.clone(), Arc::clone(&questions));
        let first_save = shared.task_store.clone().map(|store| {
            let first = stored::keep(shared, store, id.clone(), Arc::clone(&questions));
            (Arc::clone(shared), first)
        });
        *link.slot.lock() = Some(ActiveTask {
            id: id.clone(),
            questions,
            shared: Arc::clone(shared),
            capabilities: starter.capabilities,
        });
        let task_id = id.clone();
        let shared = Arc::clone(shared);
        // The work outlives the request and its session: the drain waits
        // for it (it ends at shutdown, its token being a child of the root).
        let tracked = (!crate::sync::mutant("task_work_untracked")).then(|| shared.core.drain_token());
        // Its time to live, from now, on the timers' clock: when it is
        // over, the task leaves the table whatever the wall clock says.
        let expiry = crate::sync::sleep(self.ttl);
        tokio::spawn(async move {
            let mut expiry = std::pin::pin!(expiry);
            let mut expired = false;
            let outcome = loop {
                tokio::select! {
                    biased;
                    outcome = &mut run => break Some(outcome),
                    () = token.cancelled() => break None,
                    // Over while it runs: the task leaves the table, which
                    // cancels its token; the handler sees it next turn.
                    () = &mut expiry, if !expired => {
                        expired = true;
                        shared.tasks.table.expire_task(&task_id);
                    }
                }
            };
            // The handler goes now, whatever became of it: what follows
            // may wait for the task's TTL.
            drop(run);
            let status = match outcome {
                None => TaskStatus::Cancelled,
                Some(Ok(Ok(result))) => {
                    TaskStatus::Completed(finish_result(generation, result, &shared.info))
                }
                Some(Ok(Err(error))) => {
                    TaskStatus::Failed(serde_json::to_value(error).expect("an error object is JSON"))
                }
                Some(Err(_panic)) => {
                    let error = ErrorObject::internal(format!("task {task_id}: the handler panicked"));
                    TaskStatus::Failed(serde_json::to_value(error).expect("an error object is JSON"))
                }
            };
            let tasks = &shared.tasks;
            tasks.set(&shared, &task_id, status);
            tasks.questions.lock().remove(&task_id);
            // The drain does not wait for what follows: the ended task is
            // kept until its time to live is over, then taken out of the
            // table on time, not at the table's next use.
            drop(tracked);
            if !expired {
                let shutdown = shared.core.shutdown_token();
                tokio::select! {
                    () = &mut expiry => {
                        tasks.table.expire_task(&task_id);
                    }
                    () = shutdown.cancelled() => {}
                }
            }
        });
        let snapshot = self.table.get(&id, now).expect("a task is held once created");
        let mut result = detailed(&snapshot);
        result["resultType"] = json!("task");
        match first_save {
            Some((shared, first)) => Started::Saved(stored::answer_once_saved(&shared, id, result, first)),
            None => Started::Now(Ok(result)),
        }
    }

    /// True if task `id` is held here.
    pub(crate) fn holds(&self, id: &str) -> bool {
        self.table.get(id, now_ms()).is_some()
    }

    /// Tells task `id`'s record keeper that its status changed.
    fn changed(&self, id: &str) {
        if let Some(task) = self.questions.lock().get(id) {
            task.changed.notify_one();
        }
    }

    /// Moves task `id` to `status` and tells the listen streams that named
    /// it.
    fn set(&self, shared: &Shared, id: &str, status: TaskStatus) {
        if self.table.set(id, status, now_ms())
            && let Some(snapshot) = self.table.get(id, now_ms())
        {
            self.changed(id);
            announce(shared, &snapshot);
        }
    }

    /// `tasks/get` by `caller`: another caller's task is answered as an
    /// unknown one.
    pub(crate) fn get(&self, id: &str, caller: Option<&str>) -> Result<Value, ErrorObject> {
        self.table
            .get(id, now_ms())
            .filter(|s| s.serves(caller))
            .map(|s| detailed(&s))
            .ok_or_else(|| unknown(id))
    }

    /// True if task `id` is held here and belongs to someone other than
    /// `caller` (what a listen stream of `caller` may not hear of).
    pub(crate) fn belongs_to_another(&self, id: &str, caller: Option<&str>) -> bool {
        self.table.get(id, now_ms()).is_some_and(|s| !s.serves(caller))
    }

    /// `tasks/update` by `caller`: delivers the answers to questions the
    /// task waits on; others are ignored.
    pub(crate) fn update(
        &self,
        shared: &Shared,
        id: &str,
        caller: Option<&str>,
        responses: &Map<String, Value>,
    ) -> Result<Value, ErrorObject> {
        if !self.table.get(id, now_ms()).is_some_and(|s| s.serves(caller)) {
            return Err(unknown(id));
        }
        let questions = self.questions.lock().get(id).cloned();
        if let Some(questions) = questions {
            questions.answer(shared, id, responses);
        }
        Ok(json!({}))
    }

    /// `tasks/cancel` by `caller`.
    pub(crate) fn cancel(
        &self,
        shared: &Shared,
        id: &str,
        caller: Option<&str>,
    ) -> Result<Value, ErrorObject> {
        let snapshot = self
            .table
            .cancel_by(id, caller, now_ms())
            .ok_or_else(|| unknown(id))?;
        self.changed(id);
        self.questions.lock().remove(id);
        if snapshot.status == TaskStatus::Cancelled {
            announce(shared, &snapshot);
        }
        Ok(json!({}))
    }

    /// Tasks held now (running, or ended and kept until their expiry);
    /// those past it are taken out first.
    pub(crate) fn len(&self) -> usize {
        self.table.sweep(now_ms())
    }

    /// Stops every task (shutdown).
    pub(crate) fn close(&self) {
        self.table.close();
    }
}

/// `notifications/tasks` for the listen streams that named the task.
fn announce(shared: &Shared, snapshot: &TaskSnapshot) {
    let params = detailed(snapshot);
    shared
        .bus
        .publish("notifications/tasks", Some(&params), &shared.listeners);
}
