//! The wire protocol: JSON-RPC 2.0 messages and the MCP lifecycle.
//!
//! Pure: no I/O and no tokio, so it builds in every mode.

mod envelope;
mod error_object;
pub(crate) mod fast_path;
pub mod header_params;
mod incoming;
pub mod jsonrpc;
pub mod listen;
mod loose;
pub mod mcp;
pub mod method;
pub mod params;
mod request_id;
// Sealing needs HMAC, which model builds do not carry (nor need).
#[cfg(not(loom))]
pub mod request_state;
// What only the server writes and reads (not built in model builds).
#[cfg(not(loom))]
pub(crate) mod result;
#[cfg(not(loom))]
pub(crate) mod tasks;
#[cfg(not(loom))]
pub mod trace_context;
