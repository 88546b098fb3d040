//! The server: [`Server`] and its builder, and the state every session
//! shares (`Shared`: the core, the catalog, the tasks, the listen streams).
//!
//! Split by job:
//!
//! - `engine/`: one session's protocol state, dispatch, answers;
//! - `api/`: what a server's author writes against (tools, the catalog,
//!   `RequestContext`, [`ServerHandle`]);
//! - `ext/`: requests to the client, input rounds, tasks, listen streams,
//!   resource subscriptions;
//! - `ops/`: the drain, and the reading a metrics scrape encodes (used by
//!   the transports);
//! - [`store`]: the session store, where what a 2025 session is outlives
//!   the replica that opened it.
//!
//! The engine uses the API, the extensions and the store, the API uses the
//! extensions, `ops/` uses the API; the extensions and the store use only
//! the shared state here. No part imports one that imports it.
//!
//! The transports (`crate::transport`) drive it. Entry points:
//! [`Server::serve_tcp`] for a listener, [`Server::serve_connection`] for
//! one stream pair (stdio), `Server::http_service` (feature `http`) for an
//! HTTP stack of one's own. Each `serve_*` returns a [`ShutdownReport`]
//! once [`ServerHandle::shutdown`] has run its course.

pub(crate) mod api;
pub(crate) mod engine;
pub(crate) mod ext;
pub(crate) mod ops;
pub mod store;

// The public modules, where they always were.
pub use api::{builtin, catalog, content, handler};
pub use ext::{client_requests, listen, tasks};

#[cfg(all(feature = "metrics", not(shuttle)))]
pub use crate::metrics::openmetrics::METRICS_CONTENT_TYPE;
pub use api::catalog::completion::{Completer, CompletionRef, CompletionRequest};
pub use api::catalog::prompts::{Prompt, PromptArgs, PromptArgument, PromptOutput};
pub use api::catalog::resources::{ReadRequest, Resource, ResourceTemplate};
pub use api::catalog::skills::{MAX_SKILL_BYTES, MAX_SKILL_FILES, Skill, SkillError};
pub use api::content::{Content, ResourceContents};
pub use api::context::RequestContext;
pub use api::handle::ServerHandle;
pub use api::handler::HandlerError;
pub(crate) use api::http_request::HttpRequest;
pub use api::icon::{Icon, IconError, IconTheme, MAX_ICON_SRC_BYTES};
pub use api::notification::Notification;
pub use api::tools::{TaskSupport, Tool, ToolError, ToolOutput};
pub use api::typed::schema_of;
pub use api::visible_tools::VisibleTools;
pub use ext::client_requests::{InputError, MAX_PENDING};
pub use ext::listen::{BusMetrics, EventBus, InProcessBus, Listeners};
pub use ext::resource_subs::MAX_SUBSCRIBED_BYTES_PER_SESSION;

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::config::ServerConfig;
use crate::core::Core;
use crate::sync::Arc;
use api::catalog::{Catalog, LiveCatalog};
use ext::input_round::StateKeys;
use ext::resource_subs::ResourceSubscriptions;
use ext::tasks::Tasks;

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
    /// `{name, version}`: `serverInfo` in every 2026-07-28 result's
    /// `_meta`.
    pub(crate) info: Value,
    /// `info` with the title, icons and website, if any: `serverInfo` of
    /// `initialize` and `server/discover` (not repeated in every result).
    pub(crate) described: Value,
    /// `{"io.modelcontextprotocol/serverInfo": info}`, encoded once: the
    /// `_meta` of a 2026-07-28 tool result, written as it is.
    pub(crate) info_meta: Box<serde_json::value::RawValue>,
    /// This process's listen streams.
    pub(crate) listeners: Arc<Listeners>,
    /// Where notifications for listen streams are published.
    pub(crate) bus: Arc<dyn EventBus>,
    pub(crate) instructions: Option<String>,
    /// Seals `requestState`: the configured key, or a random one.
    pub(crate) state_keys: StateKeys,
    /// The tasks of the tasks extension.
    pub(crate) tasks: Tasks,
    /// Where 2025 sessions are kept for other replicas, if anywhere.
    pub(crate) session_store: Option<Arc<dyn store::SessionStore>>,
    /// Where the events of 2025 sessions' streams are kept for other
    /// replicas, if anywhere.
    pub(crate) event_store: Option<Arc<dyn store::EventStore>>,
    /// Where tasks are kept for other replicas, if anywhere.
    pub(crate) task_store: Option<Arc<dyn store::TaskStore>>,
    /// What this server's task events are marked with (see
    /// [`store::TaskStore::attach_tasks`]).
    pub(crate) task_origin: u64,
}

/// Builds a [`Server`].
#[derive(Debug, Default)]
pub struct ServerBuilder {
    config: ServerConfig,
    catalog: Catalog,
    bus: Option<Arc<dyn EventBus>>,
    session_store: Option<Arc<dyn store::SessionStore>>,
    event_store: Option<Arc<dyn store::EventStore>>,
    task_store: Option<Arc<dyn store::TaskStore>>,
    name: Option<String>,
    version: Option<String>,
    title: Option<String>,
    icons: Vec<Icon>,
    website_url: Option<String>,
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

    /// Adds a skill (replacing one at the same path): it is listed by
    /// `skills/list`, and its files are resources.
    pub fn skill(mut self, skill: Skill) -> Self {
        self.catalog.add_skill(skill);
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

    /// Sets the human-readable title reported in `serverInfo` (of
    /// `initialize` and `server/discover`).
    pub fn server_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Adds an icon of the server, reported in `serverInfo` (of
    /// `initialize` and `server/discover`).
    pub fn server_icon(mut self, icon: Icon) -> Self {
        self.icons.push(icon);
        self
    }

    /// Sets the server's website, reported in `serverInfo` (of
    /// `initialize` and `server/discover`).
    pub fn website_url(mut self, url: impl Into<String>) -> Self {
        self.website_url = Some(url.into());
        self
    }

    /// Publishes notifications for listen streams on `bus` (default: the
    /// in-process bus).
    pub fn event_bus(mut self, bus: Arc<dyn EventBus>) -> Self {
        self.bus = Some(bus);
        self
    }

    /// Keeps 2025 HTTP sessions in `store`, so that any server that shares
    /// it serves any of them (default: none; a session lives only in the
    /// server that opened it). See [`store`].
    pub fn session_store(mut self, store: Arc<dyn store::SessionStore>) -> Self {
        self.session_store = Some(store);
        self
    }

    /// Appends the events of 2025 sessions' SSE streams to `store` too, so
    /// that any server that shares it resumes a broken stream
    /// (`Last-Event-ID`) another one wrote (default: none; a stream is
    /// resumed only where it was written). See [`store`].
    pub fn event_store(mut self, store: Arc<dyn store::EventStore>) -> Self {
        self.event_store = Some(store);
        self
    }

    /// Keeps the tasks of the tasks extension in `store` too, so that any
    /// server that shares it answers `tasks/get`, `tasks/update` and
    /// `tasks/cancel` for them (default: none; a task is known only to the
    /// server that runs it). See [`store`].
    pub fn task_store(mut self, store: Arc<dyn store::TaskStore>) -> Self {
        self.task_store = Some(store);
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
        let mut described = info.clone();
        if let Some(title) = self.title {
            described["title"] = Value::from(title);
        }
        if let Some(icons) = api::icon::icons_json(&self.icons) {
            described["icons"] = icons;
        }
        if let Some(url) = self.website_url {
            described["websiteUrl"] = Value::from(url);
        }
        let listeners = Arc::new(Listeners::default());
        let bus = self.bus.unwrap_or_else(|| Arc::new(InProcessBus));
        bus.attach(Arc::clone(&listeners));
        let task_store = self.task_store;
        Server {
            shared: Arc::new_cyclic(|me: &crate::sync::Weak<Shared>| Shared {
                core: Core::new(&self.config),
                tasks: Tasks::new(
                    self.config.max_tasks,
                    self.config.task_ttl,
                    self.config.replica_id.as_ref(),
                ),
                catalog: LiveCatalog::new(self.catalog, self.config.page_size),
                resource_subs: ResourceSubscriptions::default(),
                info_meta: engine::answer::info_meta(&info),
                info,
                described,
                listeners,
                bus,
                instructions: self.instructions,
                session_store: self.session_store,
                event_store: self.event_store,
                task_origin: task_store.as_ref().map_or(0, |store| {
                    // Other servers' task events reach this one's tasks.
                    let sink: crate::sync::Weak<dyn store::TaskEvents> = me.clone();
                    store.attach_tasks(sink)
                }),
                task_store,
                state_keys: if self.config.request_state_keys.is_empty() {
                    let mut bytes = [0u8; 32];
                    crate::sync::random_fill(&mut bytes);
                    Arc::from([Arc::from(&bytes[..])])
                } else {
                    self.config
                        .request_state_keys
                        .iter()
                        .map(|k| Arc::clone(&k.0))
                        .collect()
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
