//! Transports: adapters from bytes on a stream to JSON-RPC lines.
//!
//! A transport holds no session state; it frames, enforces the size limit and
//! hands a connection to the server.

pub(crate) mod framing;
pub mod tcp;
