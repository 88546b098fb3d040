//! The HTTP request that carried a call, as the engine hands it to the
//! handler's context: a leaf, so that what carries it (sessions, tasks,
//! dispatch) and what shows it (`RequestContext`) need not import each
//! other.

use crate::sync::Arc;

/// The parts of the HTTP request that carried a call (method, URI,
/// headers, extensions), shared by everything that serves it.
pub(crate) type HttpRequest = Arc<http::request::Parts>;
