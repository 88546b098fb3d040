//! Transports: adapters from bytes to the server's sessions.
//!
//! - `line`: a session on a byte stream, one JSON-RPC message per line
//!   (`framing`: the lines; `read_buffer`: a read buffer held only while it
//!   has unread bytes);
//! - [`listener`]: the seam every accept loop takes connections from (TCP,
//!   Unix sockets, a listener of your own; `peer`: a TCP connection that
//!   can be watched), and `accept`: the one accept loop;
//! - [`tcp`]: binding a TCP listener, and line sessions on any listener;
//! - `tls` (feature `tls`): TLS over any listener;
//! - `stdio`: one client on a reader and a writer, or on the process's own
//!   stdin and stdout (`stdio_fds`: through the reactor when they are pipes
//!   or sockets);
//! - [`http`]: Streamable HTTP for both protocol generations.
//!
//! A transport holds no protocol state; it frames, enforces the size limits
//! and hands each message to the server with the route its answer takes.

pub(crate) mod accept;
pub(crate) mod framing;
#[cfg(all(feature = "http", not(shuttle)))]
pub mod http;
pub(crate) mod line;
pub mod listener;
mod peer;
pub(crate) mod read_buffer;
#[cfg(not(shuttle))]
pub(crate) mod stall;
mod stdio;
mod stdio_fds;
pub mod tcp;
#[cfg(all(feature = "tls", not(shuttle)))]
pub mod tls;
