//! # mcp-server-core
//!
//! An MCP (Model Context Protocol) server core whose concurrency is checked,
//! not hoped for: admission by a semaphore, a session registry behind a
//! synchronous lock that is never held across an `.await`, one cancellation
//! token tree for shutdown, bounded outboxes everywhere.
//!
//! Module map:
//!
//! - [`sync`]: the shim, the only place that names tokio, loom or shuttle.
//! - [`core`]: admission, registry, shutdown and drain, outboxes; the part the
//!   model checkers run.
//! - [`protocol`]: JSON-RPC 2.0 and the MCP lifecycle (pure).
//! - `server`: what a session does with its messages: lifecycle, dispatch,
//!   the catalog (tools, resources, templates, prompts, completion) and its
//!   handlers, notify and broadcast.
//! - `transport`: line framing, the line session driver, TCP, stdio and
//!   Streamable HTTP.
//! - `bus`: event buses shared by replicas (Redis pub/sub), for listen
//!   streams' notifications.
//!
//! The README shows a server with a tool of its own; `tests/readme_example.rs`
//! compiles it and checks that the README still shows exactly that code.

pub mod config;
pub mod core;
pub mod error;
mod metrics;
pub mod protocol;
pub mod sync;

#[cfg(not(any(loom, shuttle)))]
pub mod bus;
#[cfg(not(any(loom, shuttle)))]
pub mod server;
#[cfg(not(any(loom, shuttle)))]
pub mod transport;

#[cfg(all(fuzzing, not(any(loom, shuttle))))]
#[doc(hidden)]
pub mod fuzzing;

pub use config::{FullPolicy, ServerConfig};
pub use error::{AdmitError, NotifyError};
pub use metrics::MetricsSnapshot;

#[cfg(not(any(loom, shuttle)))]
pub use server::{
    Completer, CompletionRef, CompletionRequest, Content, HandlerError, InputError,
    MAX_SUBSCRIBED_BYTES_PER_SESSION, Notification, Prompt, PromptArgs, PromptArgument, PromptOutput,
    ReadRequest, RequestContext, Resource, ResourceContents, ResourceTemplate, Server, ServerBuilder,
    ServerHandle, ShutdownReport, TaskSupport, Tool, ToolError, ToolOutput,
};
