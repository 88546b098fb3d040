//! The server: what a session does with its messages (lifecycle, dispatch,
//! tools), `notify_client` and `broadcast`, and the drain that ends every
//! `serve_*`.
//!
//! The transports (`crate::transport`) drive it. Entry points:
//! [`Server::serve_tcp`] for a listener, [`Server::serve_connection`] for one
//! stream pair (stdio). Each returns a [`ShutdownReport`] once
//! [`ServerHandle::shutdown`] has run its course.

pub mod builtin;
pub(crate) mod dispatch;
pub(crate) mod drain;
pub mod listen;
pub(crate) mod session;
pub(crate) mod tools;

pub use listen::{EventBus, InProcessBus, Listeners};
pub use tools::{RequestContext, Tool, ToolError, ToolOutput};

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
use tools::ToolSet;

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
    pub(crate) tools: ToolSet,
    /// `{name, version}`: `serverInfo` of `initialize` and
    /// `server/discover`, and of every 2026-07-28 result's `_meta`.
    pub(crate) info: Value,
    /// This process's listen streams.
    pub(crate) listeners: Arc<Listeners>,
    /// Where notifications for listen streams are published.
    pub(crate) bus: Arc<dyn EventBus>,
    pub(crate) instructions: Option<String>,
}

/// Builds a [`Server`].
#[derive(Debug, Default)]
pub struct ServerBuilder {
    config: ServerConfig,
    tools: ToolSet,
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
        self.tools.insert(tool);
        self
    }

    /// Adds the built-in tools `echo`, `sleep` and `broadcast`.
    pub fn builtin_tools(mut self) -> Self {
        for tool in builtin::tools() {
            self.tools.insert(tool);
        }
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
        Server {
            shared: Arc::new(Shared {
                core: Core::new(&self.config),
                config: self.config,
                tools: self.tools,
                info: serde_json::json!({"name": name, "version": version}),
                listeners: Arc::new(Listeners::default()),
                bus: self.bus.unwrap_or_else(|| Arc::new(InProcessBus)),
                instructions: self.instructions,
            }),
        }
    }
}

impl Server {
    /// A builder with the default configuration and no tools.
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
        let streams = self.shared.bus.publish(
            &notification.method,
            notification.params.as_ref(),
            &self.shared.listeners,
        );
        let mut report = sessions;
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
