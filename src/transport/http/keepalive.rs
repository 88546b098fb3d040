//! The upkeep of a stored session in the task that runs it here
//! (`crate::server::store`): its record lapses after the idle timeout
//! unless touched, so the task touches it on activity (at most every
//! eighth of the idle timeout) and every third of it while a request runs
//! or a stream is open; and it takes up the records other replicas save.
//!
//! Boxed, and made only for a session a store keeps: a session without
//! one carries a null pointer for all of it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use super::Http;
use crate::server::store::{RecordCell, SessionRecord, SessionStore};
use crate::sync::Arc;

/// A record another replica saved, once it arrives.
type Arrival = Pin<Box<dyn Future<Output = SessionRecord> + Send>>;

/// What a stored session's task has to do besides serving it.
pub(super) enum Due {
    /// Touch the record if the session is busy.
    Refresh,
    /// Take up this record, which another replica saved.
    Changed(Box<SessionRecord>),
}

/// The upkeep of one stored session.
pub(super) struct Upkeep {
    store: Arc<dyn SessionStore>,
    cell: Arc<RecordCell>,
    ttl: Duration,
    touched: Instant,
    refresh: Pin<Box<Sleep>>,
    arrival: Arrival,
}

impl Upkeep {
    /// The upkeep of a session whose record goes to `cell`; `None` without
    /// a store.
    pub(super) fn new(http: &Http, cell: Option<Arc<RecordCell>>) -> Option<Box<Self>> {
        let store = Arc::clone(http.server.shared.session_store.as_ref()?);
        let cell = cell?;
        let ttl = http.server.shared.config.http.session_idle_timeout;
        Some(Box::new(Self {
            store,
            arrival: arrival(&cell),
            cell,
            ttl,
            touched: Instant::now(),
            refresh: Box::pin(tokio::time::sleep(ttl / 3)),
        }))
    }

    /// What is due next, polled: the timer and the arrival are kept
    /// across polls (nothing is lost when another branch of the task's
    /// `select!` wins).
    fn poll_due(&mut self, cx: &mut Context<'_>) -> Poll<Due> {
        if let Poll::Ready(record) = self.arrival.as_mut().poll(cx) {
            self.arrival = arrival(&self.cell);
            return Poll::Ready(Due::Changed(Box::new(record)));
        }
        if self.refresh.as_mut().poll(cx).is_ready() {
            self.refresh.as_mut().reset(Instant::now() + self.ttl / 3);
            return Poll::Ready(Due::Refresh);
        }
        Poll::Pending
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

fn arrival(cell: &Arc<RecordCell>) -> Arrival {
    let cell = Arc::clone(cell);
    Box::pin(async move { cell.arrived().await })
}

/// Notes a message that arrived, for `upkeep` if there is one.
pub(super) fn on_activity(upkeep: &mut Option<Box<Upkeep>>) {
    if let Some(upkeep) = upkeep {
        upkeep.on_activity();
    }
}

/// What is due for `upkeep`; never, without one. (A plain `poll_fn`, so
/// that the task's future holds no more for it than a reference.)
pub(super) fn next_due(upkeep: &mut Option<Box<Upkeep>>) -> impl Future<Output = Due> + '_ {
    std::future::poll_fn(move |cx| match upkeep {
        Some(upkeep) => upkeep.poll_due(cx),
        None => Poll::Pending,
    })
}
