//! Transports: adapters from bytes to the server's sessions.
//!
//! - `line`: a session on a byte stream, one JSON-RPC message per line
//!   (`framing`: the lines; `read_buffer`: a read buffer held only while it
//!   has unread bytes);
//! - [`tcp`]: the listener and the accept loop;
//! - `stdio`: one client on a reader and a writer, or on the process's own
//!   stdin and stdout (`stdio_fds`: through the reactor when they are pipes
//!   or sockets);
//! - [`http`]: Streamable HTTP for both protocol generations.
//!
//! A transport holds no protocol state; it frames, enforces the size limits
//! and hands each message to the server with the route its answer takes.

pub(crate) mod framing;
pub mod http;
pub(crate) mod line;
pub(crate) mod read_buffer;
mod stdio;
mod stdio_fds;
pub mod tcp;
