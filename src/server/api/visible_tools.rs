//! [`VisibleTools`]: which tools `tools/list` shows to one request, as a
//! layer in front of the HTTP service decided (authorization puts one in
//! the request's extensions when it is told to hide the tools a caller may
//! not call; a tower layer of the user's own may too).

use std::fmt;

use super::tools::Tool;
use crate::auth::Principal;
use crate::sync::Arc;

/// A filter on the tools `tools/list` shows: put in an HTTP request's
/// extensions, it keeps from that request's list every tool for which it
/// answers false. It is given the tool and the request's authenticated
/// caller, if any. A list filtered this way is marked as this client's
/// own (2026-07-28 `cacheScope: "private"`). It only hides: a call of a
/// hidden tool is answered as any other call would be.
#[derive(Clone)]
pub struct VisibleTools(Arc<Keep>);

/// What decides whether a tool is listed for a caller.
type Keep = dyn Fn(&Tool, Option<&Principal>) -> bool + Send + Sync;

impl VisibleTools {
    /// A filter that shows the tools for which `keep` is true.
    pub fn new(keep: impl Fn(&Tool, Option<&Principal>) -> bool + Send + Sync + 'static) -> Self {
        Self(Arc::new(keep))
    }

    /// True if `tool` is listed for `caller`.
    pub(crate) fn keeps(&self, tool: &Tool, caller: Option<&Principal>) -> bool {
        (self.0)(tool, caller)
    }
}

impl fmt::Debug for VisibleTools {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VisibleTools(..)")
    }
}
