//! Keeps a stored session's record alive while the session is used in
//! this replica (`crate::server::store`: a record lapses after the idle
//! timeout unless touched).

use std::time::Duration;

use tokio::time::Instant;

use super::Http;
use crate::server::store::{RecordCell, SessionStore};
use crate::sync::Arc;

/// Keeps a stored session's record alive while the session is used here:
/// a touch on activity (at most every eighth of the idle timeout), and one
/// every third of it while a request runs or a stream is open.
pub(super) struct Keepalive {
    store: Arc<dyn SessionStore>,
    cell: Arc<RecordCell>,
    ttl: Duration,
    touched: Instant,
}

impl Keepalive {
    /// The keepalive of a session whose record goes to `cell`, if any.
    pub(super) fn new(http: &Http, cell: Option<Arc<RecordCell>>) -> Option<Self> {
        Some(Self {
            store: Arc::clone(http.server.shared.session_store.as_ref()?),
            cell: cell?,
            ttl: http.server.shared.config.http.session_idle_timeout,
            touched: Instant::now(),
        })
    }

    /// How often a busy session touches its record.
    pub(super) fn period(&self) -> Duration {
        self.ttl / 3
    }

    /// A message arrived.
    pub(super) fn on_activity(&mut self) {
        if self.touched.elapsed() >= self.ttl / 8 {
            self.touch();
        }
    }

    /// Extends the record's life to the idle timeout from now.
    pub(super) fn touch(&mut self) {
        self.store.touch(self.cell.sid(), self.ttl);
        self.touched = Instant::now();
    }
}
