//! # mcp-server-core
//!
//! An MCP (Model Context Protocol) server core whose concurrency is checked,
//! not hoped for: admission by a semaphore, a session registry behind a
//! synchronous lock that is never held across an `.await`, one cancellation
//! token tree for shutdown, bounded outboxes everywhere.
//!
//! Module map:
//!
//! - `sync`: the shim, the only place that names tokio, loom or shuttle.
//! - `core`: admission, registry, shutdown and drain, outboxes; the part the
//!   model checkers run.
//! - `protocol`: JSON-RPC 2.0 and the MCP lifecycle (pure).
//! - `server`: what a session does with its messages: lifecycle, dispatch,
//!   the catalog (tools, resources, templates, prompts, completion) and its
//!   handlers, notify and broadcast.
//! - `transport`: line framing, the line session driver, TCP, stdio and
//!   Streamable HTTP.
//! - `bus`: event buses shared by replicas (Redis pub/sub), for listen
//!   streams' notifications.
//!
//! `sync`, `core` and `protocol` are public only for the models (`loom-tests/`), the fuzz
//! targets and the benchmarks, and hidden from the documentation; what the
//! API needs of them is re-exported here.
//!
//! The README shows a server with a tool of its own; `tests/readme_example.rs`
//! compiles it and checks that the README still shows exactly that code.

// Without `http` or `metrics`, what only feeds them (per-status counters,
// the stateless header checks, request streams, readers of the histograms)
// is built but unused: allowed then, not deleted. The same under
// `--cfg shuttle`, which builds the engine and the line transport but
// nothing over hyper. (Their unit tests are not built under shuttle: they
// would use shuttle's primitives outside a shuttle test.)
#![cfg_attr(
    any(not(all(feature = "http", feature = "metrics")), shuttle),
    allow(dead_code, unused_imports)
)]

pub mod config;
// The model-checked engine (admission, registry, drain, outboxes): public
// for the models in `loom-tests/` only, not part of the documented API.
#[doc(hidden)]
pub mod core;
pub mod error;
mod metrics;
mod session_id;
// JSON-RPC and the MCP lifecycle as the engine reads them: public for the
// fuzz targets and the benchmarks only, not part of the documented API.
#[doc(hidden)]
pub mod protocol;
// The sync shim (std/tokio, loom or shuttle): public for the models and
// the compile-fail tests only, not part of the documented API.
#[doc(hidden)]
pub mod sync;

#[cfg(not(loom))]
pub mod auth;
#[cfg(not(loom))]
pub mod bus;
#[cfg(not(loom))]
pub mod server;
#[cfg(not(loom))]
pub mod store;
#[cfg(not(loom))]
pub mod transport;

#[cfg(all(fuzzing, not(any(loom, shuttle))))]
#[doc(hidden)]
pub mod fuzzing;

pub use config::{FullPolicy, ServerConfig};
pub use core::{BroadcastReport, SessionId, SessionInfo};
pub use error::{AdmitError, NotifyError};
pub use metrics::MetricsSnapshot;
pub use protocol::jsonrpc::RequestId;
#[cfg(not(loom))]
pub use protocol::trace_context::TraceContext;
pub use sync::CancellationToken;

#[cfg(not(loom))]
pub use server::{
    Completer, CompletionRef, CompletionRequest, Content, HandlerError, Icon, IconError, IconTheme,
    InputError, MAX_SUBSCRIBED_BYTES_PER_SESSION, Notification, Prompt, PromptArgs, PromptArgument,
    PromptOutput, ReadRequest, RequestContext, Resource, ResourceContents, ResourceTemplate, Server,
    ServerBuilder, ServerHandle, ShutdownReport, Skill, SkillError, TaskSupport, Tool, ToolError, ToolOutput,
    VisibleTools,
};
#[cfg(all(feature = "http", not(any(loom, shuttle))))]
pub use transport::http::{McpBody, McpService};
#[cfg(not(loom))]
pub use transport::listener::{Connection, Listener};
