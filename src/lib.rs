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
//! - `server`: the accept loops, session tasks, dispatch, tools.
//! - `transport`: line framing, TCP.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use mcp_server_core::{Server, ServerConfig, transport::tcp};
//! let server = Server::builder()
//!     .config(ServerConfig::default().max_sessions(100))
//!     .builtin_tools()
//!     .build();
//! let listener = tcp::bind("127.0.0.1:7878".parse().unwrap(), 1024).await?;
//! let handle = server.handle();
//! tokio::spawn(async move {
//!     tokio::signal::ctrl_c().await.ok();
//!     handle.shutdown();
//! });
//! let report = server.serve_tcp(listener).await;
//! println!("{report:?}");
//! # Ok(()) }
//! ```

pub mod config;
pub mod core;
pub mod error;
mod metrics;
pub mod protocol;
pub mod sync;

#[cfg(not(any(loom, shuttle)))]
pub mod server;
#[cfg(not(any(loom, shuttle)))]
pub mod transport;

pub use config::{FullPolicy, ServerConfig};
pub use error::{AdmitError, NotifyError};
pub use metrics::MetricsSnapshot;

#[cfg(not(any(loom, shuttle)))]
pub use server::{
    Notification, RequestContext, Server, ServerBuilder, ServerHandle, ShutdownReport, Tool, ToolError,
    ToolOutput,
};

/// Compiles the README's Rust example as a doctest, so it stays true.
#[cfg(all(doctest, not(any(loom, shuttle))))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
