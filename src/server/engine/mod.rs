//! The engine: the protocol state of each session (`session/`), what each
//! method does and the one place its outcome is acted on (`dispatch/`),
//! and how a result is written into its answer (`answer.rs`). The
//! transports drive it; it uses the API's values and the extensions.

pub(crate) mod answer;
pub(crate) mod dispatch;
pub(crate) mod session;
