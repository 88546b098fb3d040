//! The protocol's extensions and optional parts, each owning its state:
//! requests to the client (`client_requests.rs`) and 2026-07-28 input
//! rounds (`input_round.rs`), the tasks extension (`tasks.rs`), listen
//! streams and the event bus they share (`listen.rs`), and 2025 resource
//! subscriptions (`resource_subs.rs`). They know the server's shared state
//! and nothing of dispatch.

pub mod client_requests;
pub(crate) mod input_round;
pub mod listen;
pub(crate) mod resource_subs;
pub mod tasks;
