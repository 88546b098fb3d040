//! The API a server's author writes against: the values they build
//! (tools, resources, prompts, completions, content, notifications), the
//! catalog that holds them while the server runs, what a handler is given
//! (`RequestContext`, the request's token and HTTP parts) and the
//! [`ServerHandle`](handle::ServerHandle) that reaches the running server.
//!
//! Below the engine: the engine dispatches to what is here, nothing here
//! dispatches. The extensions a handler reaches through its context (asking
//! the client, tasks) are below it.

pub mod builtin;
pub mod catalog;
pub mod content;
pub(crate) mod context;
pub(crate) mod handle;
pub mod handler;
pub(crate) mod http_request;
pub(crate) mod icon;
pub(crate) mod notification;
pub(crate) mod request_token;
pub(crate) mod tools;
pub(crate) mod typed;
pub(crate) mod visible_tools;
