//! The server: what a session does with its messages (lifecycle, dispatch,
//! tools), `notify_client` and `broadcast`, and the drain that ends every
//! `serve_*`.
//!
//! The transports (`crate::transport`) drive it. Entry points:
//! [`Server::serve_tcp`] for a listener, [`Server::serve_connection`] for one
//! stream pair (stdio). Each returns a [`ShutdownReport`] once
//! [`ServerHandle::shutdown`] has run its course.

mod answer;
pub mod builtin;
pub mod catalog;
pub mod client_requests;
pub mod content;
mod context;
pub(crate) mod dispatch;
pub(crate) mod drain;
#[cfg(feature = "metrics")]
mod exporter;
pub mod handler;
mod http_request;
mod input_round;
pub mod listen;
pub(crate) mod request_token;
mod resource_subs;
pub(crate) mod session;
pub mod tasks;
pub(crate) mod tools;
mod typed;

pub use catalog::completion::{Completer, CompletionRef, CompletionRequest};
pub use catalog::prompts::{Prompt, PromptArgs, PromptArgument, PromptOutput};
pub use catalog::resources::{ReadRequest, Resource, ResourceTemplate};
pub use client_requests::{InputError, MAX_PENDING};
pub use content::{Content, ResourceContents};
pub use context::RequestContext;
#[cfg(feature = "metrics")]
pub use exporter::METRICS_CONTENT_TYPE;
pub use handler::HandlerError;
pub(crate) use http_request::HttpRequest;
pub use listen::{BusMetrics, EventBus, InProcessBus, Listeners};
pub use resource_subs::MAX_SUBSCRIBED_BYTES_PER_SESSION;
pub use tasks::TaskSupport;
pub use tools::{Tool, ToolError, ToolOutput};
pub use typed::schema_of;

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::config::ServerConfig;
use crate::core::{BroadcastReport, Core, SessionId, SessionInfo};
use crate::error::NotifyError;
use crate::metrics::MetricsSnapshot;
use crate::protocol::jsonrpc::encode_notification;
use crate::protocol::mcp::{LOG_LEVELS, log_level_rank};
use crate::sync::Arc;
use catalog::{Catalog, Kind, LiveCatalog};
use resource_subs::ResourceSubscriptions;

/// The name a server reports in `serverInfo` unless told otherwise.
pub const DEFAULT_SERVER_NAME: &str = env!("CARGO_PKG_NAME");

/// An MCP server: configuration, tools, and the core it runs on.
#[derive(Debug, Clone)]
pub struct Server {
    pub(crate) shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) core: Core,
    pub(crate) config: ServerConfig,
    /// What the server offers; may change while it runs.
    pub(crate) catalog: LiveCatalog,
    /// 2025 sessions' `resources/subscribe`s.
    pub(crate) resource_subs: ResourceSubscriptions,
    /// `{name, version}`: `serverInfo` of `initialize` and
    /// `server/discover`, and of every 2026-07-28 result's `_meta`.
    pub(crate) info: Value,
    /// `{"io.modelcontextprotocol/serverInfo": info}`, encoded once: the
    /// `_meta` of a 2026-07-28 tool result, written as it is.
    pub(crate) info_meta: Box<serde_json::value::RawValue>,
    /// This process's listen streams.
    pub(crate) listeners: Arc<Listeners>,
    /// Where notifications for listen streams are published.
    pub(crate) bus: Arc<dyn EventBus>,
    pub(crate) instructions: Option<String>,
    /// Seals `requestState`: the configured key, or a random one.
    pub(crate) state_key: Arc<[u8]>,
    /// The tasks of the tasks extension.
    pub(crate) tasks: tasks::Tasks,
}

/// Builds a [`Server`].
#[derive(Debug, Default)]
pub struct ServerBuilder {
    config: ServerConfig,
    catalog: Catalog,
    bus: Option<Arc<dyn EventBus>>,
    name: Option<String>,
    version: Option<String>,
    instructions: Option<String>,
}

impl ServerBuilder {
    /// Uses `config`.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Adds a tool (replacing one of the same name).
    pub fn tool(mut self, tool: Tool) -> Self {
        self.catalog.add_tool(tool);
        self
    }

    /// Adds the built-in tools `echo`, `sleep` and `broadcast`.
    pub fn builtin_tools(mut self) -> Self {
        for tool in builtin::tools() {
            self.catalog.add_tool(tool);
        }
        self
    }

    /// Adds a resource (replacing one with the same URI).
    pub fn resource(mut self, resource: Resource) -> Self {
        self.catalog.add_resource(resource);
        self
    }

    /// Adds a resource template (replacing one with the same URI template).
    pub fn resource_template(mut self, template: ResourceTemplate) -> Self {
        self.catalog.add_template(template);
        self
    }

    /// Adds a prompt (replacing one of the same name).
    pub fn prompt(mut self, prompt: Prompt) -> Self {
        self.catalog.add_prompt(prompt);
        self
    }

    /// Answers `completion/complete` with `completer` (without one, the
    /// server does not advertise `completions` and the method is not found).
    pub fn completer(mut self, completer: Completer) -> Self {
        self.catalog.completer = Some(completer);
        self
    }

    /// Sets the name and version reported in `serverInfo`.
    pub fn server_info(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self.version = Some(version.into());
        self
    }

    /// Publishes notifications for listen streams on `bus` (default: the
    /// in-process bus).
    pub fn event_bus(mut self, bus: Arc<dyn EventBus>) -> Self {
        self.bus = Some(bus);
        self
    }

    /// Sets the `instructions` reported to clients.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Builds the server.
    pub fn build(self) -> Server {
        let name = self.name.unwrap_or_else(|| DEFAULT_SERVER_NAME.to_owned());
        let version = self
            .version
            .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned());
        let info = serde_json::json!({"name": name, "version": version});
        let listeners = Arc::new(Listeners::default());
        let bus = self.bus.unwrap_or_else(|| Arc::new(InProcessBus));
        bus.attach(Arc::clone(&listeners));
        Server {
            shared: Arc::new(Shared {
                core: Core::new(&self.config),
                tasks: tasks::Tasks::new(
                    self.config.max_tasks,
                    self.config.task_ttl,
                    self.config.replica_id.as_ref(),
                ),
                catalog: LiveCatalog::new(self.catalog, self.config.page_size),
                resource_subs: ResourceSubscriptions::default(),
                info_meta: answer::info_meta(&info),
                info,
                listeners,
                bus,
                instructions: self.instructions,
                state_key: match &self.config.request_state_key {
                    Some(key) => Arc::clone(&key.0),
                    None => {
                        let mut bytes = [0u8; 32];
                        getrandom::fill(&mut bytes).expect("the operating system's random generator");
                        Arc::from(&bytes[..])
                    }
                },
                config: self.config,
            }),
        }
    }
}

impl Server {
    /// A builder with the default configuration and nothing registered.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// A handle for shutting the server down, notifying and inspecting it.
    pub fn handle(&self) -> ServerHandle {
        ServerHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }
}

/// A notification for [`ServerHandle::notify_client`] or
/// [`ServerHandle::broadcast`].
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    method: String,
    params: Option<Value>,
    /// The broadcast gate level: a log level rank for `notifications/message`,
    /// the highest rank otherwise (reaching every initialized session).
    level: u8,
}

impl Notification {
    /// A notification of `method` with `params`.
    pub fn new(method: impl Into<String>, params: Option<Value>) -> Self {
        let method = method.into();
        let level = params
            .as_ref()
            .filter(|_| method == "notifications/message")
            .and_then(|p| p.get("level"))
            .and_then(Value::as_str)
            .and_then(log_level_rank)
            .unwrap_or((LOG_LEVELS.len() - 1) as u8);
        Self {
            method,
            params,
            level,
        }
    }

    /// A `notifications/message` log message at `level` (`"info"`,
    /// `"warning"`, ...; unknown names are sent as `"info"`).
    pub fn log(level: &str, logger: Option<&str>, data: Value) -> Self {
        let level = if log_level_rank(level).is_some() {
            level
        } else {
            "info"
        };
        let mut params = serde_json::json!({"level": level, "data": data});
        if let Some(logger) = logger {
            params["logger"] = Value::from(logger);
        }
        Self::new("notifications/message", Some(params))
    }

    fn encode(&self) -> bytes::Bytes {
        encode_notification(&self.method, self.params.clone())
    }
}

/// A handle on a running server. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    pub(crate) shared: Arc<Shared>,
}

impl ServerHandle {
    /// Begins a graceful shutdown: the accept loop stops, every session and
    /// request is cancelled, outboxes are flushed within the grace period.
    /// The `serve_*` future returns its report when done. Idempotent.
    pub fn shutdown(&self) {
        self.shared.tasks.close();
        self.shared.core.shutdown();
    }

    /// True once shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shared.core.is_shutting_down()
    }

    /// Sends a notification to one session without waiting.
    ///
    /// The session is looked up, its sender cloned and the registry lock
    /// dropped before sending. A session that is a listen stream (2026-07-28
    /// over HTTP) gets it stamped with its subscription id, and only if it
    /// asked for that kind of notification.
    ///
    /// # Errors
    ///
    /// [`NotifyError::Gone`] if the session does not exist;
    /// [`NotifyError::Dropped`] / [`NotifyError::Disconnected`] if its outbox
    /// is full (the message is counted as dropped).
    pub fn notify_client(&self, session: SessionId, notification: &Notification) -> Result<(), NotifyError> {
        let streamed =
            self.shared
                .listeners
                .deliver_to(session, &notification.method, notification.params.as_ref());
        streamed.unwrap_or_else(|| self.shared.core.notify(session, notification.encode()))
    }

    /// Sends a notification to every session that may receive it: sessions
    /// that completed the `initialize` handshake, and for
    /// `notifications/message`, whose log level admits it. Encodes once for
    /// them; never waits. It is also published on the event bus for the
    /// listen streams (2026-07-28) that asked for its kind, each of which
    /// gets a copy stamped with its subscription id.
    pub fn broadcast(&self, notification: &Notification) -> BroadcastReport {
        let sessions = self
            .shared
            .core
            .broadcast(&notification.encode(), notification.level);
        self.publish(notification, sessions)
    }

    /// Adds a tool while the server runs (replacing one of the same name)
    /// and tells clients the tool list changed.
    pub fn add_tool(&self, tool: Tool) -> BroadcastReport {
        self.change(Kind::Tools, |c| {
            c.add_tool(tool);
            true
        })
    }

    /// Removes the tool `name`; tells clients if there was one.
    pub fn remove_tool(&self, name: &str) -> BroadcastReport {
        self.change(Kind::Tools, |c| c.tools.remove(name))
    }

    /// Adds a resource while the server runs and tells clients the
    /// resource list changed.
    pub fn add_resource(&self, resource: Resource) -> BroadcastReport {
        self.change(Kind::Resources, |c| {
            c.add_resource(resource);
            true
        })
    }

    /// Removes the resource at `uri`; tells clients if there was one.
    pub fn remove_resource(&self, uri: &str) -> BroadcastReport {
        self.change(Kind::Resources, |c| c.resources.remove(uri))
    }

    /// Adds a resource template while the server runs and tells clients
    /// the resource list changed.
    pub fn add_resource_template(&self, template: ResourceTemplate) -> BroadcastReport {
        self.change(Kind::Resources, |c| {
            c.add_template(template);
            true
        })
    }

    /// Removes the resource template `uri_template`; tells clients if
    /// there was one.
    pub fn remove_resource_template(&self, uri_template: &str) -> BroadcastReport {
        self.change(Kind::Resources, |c| c.templates.remove(uri_template))
    }

    /// Adds a prompt while the server runs and tells clients the prompt
    /// list changed.
    pub fn add_prompt(&self, prompt: Prompt) -> BroadcastReport {
        self.change(Kind::Prompts, |c| {
            c.add_prompt(prompt);
            true
        })
    }

    /// Removes the prompt `name`; tells clients if there was one.
    pub fn remove_prompt(&self, name: &str) -> BroadcastReport {
        self.change(Kind::Prompts, |c| c.prompts.remove(name))
    }

    /// Applies `edit` to the catalog and, if it changed something,
    /// broadcasts `kind`'s `list_changed`.
    fn change(&self, kind: Kind, edit: impl FnOnce(&mut Catalog) -> bool) -> BroadcastReport {
        if !self.shared.catalog.change(edit) {
            return BroadcastReport::default();
        }
        self.broadcast(&Notification::new(kind.list_changed(), None))
    }

    /// Tells the clients subscribed to `uri` that the resource changed
    /// (`notifications/resources/updated`): 2025 sessions that sent
    /// `resources/subscribe` for it, and listen streams (2026-07-28) whose
    /// `resourceSubscriptions` name it. Never waits.
    pub fn resource_updated(&self, uri: &str) -> BroadcastReport {
        let notification = Notification::new(
            "notifications/resources/updated",
            Some(serde_json::json!({"uri": uri})),
        );
        let frame = notification.encode();
        let mut report = BroadcastReport::default();
        for session in self.shared.resource_subs.sessions(uri) {
            match self.shared.core.notify(session, frame.clone()) {
                Ok(()) => report.queued += 1,
                Err(NotifyError::Gone(_)) => report.gone += 1,
                Err(_) => report.dropped += 1,
            }
        }
        self.publish(&notification, report)
    }

    /// Publishes `notification` on the event bus for listen streams and
    /// adds what this process delivered to `report`.
    fn publish(&self, notification: &Notification, mut report: BroadcastReport) -> BroadcastReport {
        let streams = self.shared.bus.publish(
            &notification.method,
            notification.params.as_ref(),
            &self.shared.listeners,
        );
        report.queued += streams.queued;
        report.dropped += streams.dropped;
        report.gone += streams.gone;
        report
    }

    /// The listen streams of this process (2026-07-28).
    pub fn listeners(&self) -> &Listeners {
        &self.shared.listeners
    }

    /// Disconnects one session; false if no session has this id.
    pub fn disconnect(&self, session: SessionId) -> bool {
        self.shared.core.disconnect(session)
    }

    /// The live sessions.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.shared.core.sessions()
    }

    /// The counters.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.shared.core.metrics()
    }

    /// Admission permits not held by a session (for tests and monitoring).
    pub fn available_permits(&self) -> usize {
        self.shared.core.available_permits()
    }
}

/// How a shutdown went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Sessions that ended by themselves (within the grace period, or before
    /// shutdown).
    pub sessions_closed: u64,
    /// Sessions still running when the grace period ran out, aborted.
    pub sessions_aborted: u64,
    /// From the start of shutdown to the return of `serve`.
    #[serde(with = "duration_ms")]
    pub elapsed: Duration,
}

mod duration_ms {
    pub(super) fn serialize<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64() * 1000.0)
    }
}
