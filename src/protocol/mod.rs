//! The wire protocol: JSON-RPC 2.0 messages and the MCP lifecycle.
//!
//! Pure: no I/O and no tokio, so it builds in every mode.

pub mod header_params;
pub mod jsonrpc;
pub mod listen;
pub mod mcp;
