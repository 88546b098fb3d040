//! Listen streams (2026-07-28 `subscriptions/listen`) and the event bus
//! that feeds them.
//!
//! A listen stream is registered in [`Listeners`] (the core's
//! [`Subscribers`], model-checked) with its filter and subscription id, for
//! as long as its `ListenGuard` lives. Notifications for listen streams
//! are published on the server's [`EventBus`]; the default,
//! [`InProcessBus`], delivers them at once to this process's streams. A bus
//! shared by several replicas publishes each event to all of them, and each
//! delivers it to its own streams with [`Listeners::deliver`] (the seam of
//! `../shared/DESIGN.md`, "Scale-out").
//!
//! Delivery follows `broadcast`'s rules: the table's lock is held only to
//! clone the registrations; each stream that wants the event gets its own
//! copy (stamped with its subscription id) without waiting, and a full
//! outbox drops it and counts it.

use std::fmt;

use serde_json::Value;

use crate::core::{BroadcastReport, OutboxSender, SessionId, Subscribers, Subscription};
use crate::error::NotifyError;
pub use crate::metrics::BusMetrics;
use crate::protocol::jsonrpc::RequestId;
use crate::protocol::listen::{ListenFilter, stream_notification};
use crate::sync::Arc;

/// Where notifications for listen streams are published.
pub trait EventBus: Send + Sync + fmt::Debug + 'static {
    /// Publishes a notification of `method` with `params`; every process
    /// that shares the bus delivers it to its own listen streams that asked
    /// for it (this one's are `local`). Returns what this process delivered.
    fn publish(&self, method: &str, params: Option<&Value>, local: &Listeners) -> BroadcastReport;

    /// Called once, when a server is built with this bus, with that
    /// server's listen streams: a bus shared with other processes delivers
    /// their events to `local` from then on. The default does nothing (a
    /// bus of one process needs no more than `publish`).
    fn attach(&self, local: Arc<Listeners>) {
        let _ = local;
    }

    /// The bus's counters, for a bus shared with other processes (exported
    /// with the server's metrics); `None`, the default, for one that has
    /// none.
    fn metrics(&self) -> Option<BusMetrics> {
        None
    }
}

/// The default bus: one process, delivery at once.
#[derive(Debug, Default, Clone, Copy)]
pub struct InProcessBus;

impl EventBus for InProcessBus {
    fn publish(&self, method: &str, params: Option<&Value>, local: &Listeners) -> BroadcastReport {
        local.deliver(method, params)
    }
}

/// What a listen stream subscribed with.
#[derive(Debug)]
pub(crate) struct Listener {
    filter: ListenFilter,
    id: RequestId,
    /// The session the stream is, when it is a session of its own (over
    /// HTTP); `None` when it shares a connection's session (stdio, TCP).
    session: Option<SessionId>,
}

/// The listen streams of this process.
#[derive(Debug, Default)]
pub struct Listeners {
    streams: Arc<Subscribers<Listener>>,
}

/// Keeps a listen stream registered; dropping it ends the registration.
pub(crate) type ListenGuard = Subscription<Listener>;

impl Listeners {
    /// Registers a listen stream until the guard drops; `dedicated` when
    /// the stream is the whole of its outbox's session.
    pub(crate) fn add(
        &self,
        filter: ListenFilter,
        id: RequestId,
        outbox: OutboxSender,
        dedicated: bool,
    ) -> ListenGuard {
        let session = dedicated.then(|| outbox.session());
        Subscribers::subscribe(&self.streams, Listener { filter, id, session }, outbox)
    }

    /// `notify_client` for a session that is a listen stream: the
    /// notification goes on it, stamped, if the stream asked for its kind,
    /// and nowhere otherwise. `None` when `session` is not a listen stream.
    pub(crate) fn deliver_to(
        &self,
        session: SessionId,
        method: &str,
        params: Option<&Value>,
    ) -> Option<Result<(), NotifyError>> {
        if !self.streams.any(|l| l.session == Some(session)) {
            return None;
        }
        let report = self.streams.deliver(|listener| {
            (listener.session == Some(session) && listener.filter.wants(method, params))
                .then(|| stream_notification(method, params, &listener.id))
        });
        Some(match report {
            r if r.dropped > 0 => Err(NotifyError::Dropped(session)),
            r if r.gone > 0 => Err(NotifyError::Gone(session)),
            _ => Ok(()),
        })
    }

    /// Delivers a notification to every stream here that asked for it,
    /// without waiting.
    pub fn deliver(&self, method: &str, params: Option<&Value>) -> BroadcastReport {
        self.streams.deliver(|listener| {
            listener
                .filter
                .wants(method, params)
                .then(|| stream_notification(method, params, &listener.id))
        })
    }

    /// Listen streams registered now.
    pub fn len(&self) -> usize {
        self.streams.len()
    }

    /// True when no listen stream is registered.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ServerConfig;
    use crate::core::Core;
    use crate::sync::CancellationToken;

    /// `notify_client` to a listen stream's own session: what it asked for
    /// goes on it, stamped; what it did not ask for goes nowhere; a full
    /// outbox is `Dropped` and an ended stream `Gone`, each named by the
    /// session; a session that is no listen stream of its own (or a stream
    /// sharing a connection's session) is not this table's to answer.
    /// Catches `deliver_to`'s outcome guards made `true` or `false` or
    /// their `>` made `>=` or `==`, which no test over HTTP reaches (they
    /// never fill a listen stream's outbox or race its end).
    #[test]
    fn a_notification_to_a_listen_streams_session_reports_what_became_of_it() {
        let core = Core::new(&ServerConfig::default().outbox_capacity(1));
        let listeners = Listeners::default();
        let filter = |wanted: Value| ListenFilter::parse(Some(&json!({"notifications": wanted}))).unwrap();
        let tools = || filter(json!({"toolsListChanged": true}));
        let (session, other) = (SessionId(7), SessionId(8));
        let (tx, mut rx) = core.request_outbox(session, CancellationToken::new());
        let _stream = listeners.add(tools(), RequestId::Number(3), tx, true);
        let (shared_tx, _shared_rx) = core.request_outbox(other, CancellationToken::new());
        let _shared = listeners.add(tools(), RequestId::Number(4), shared_tx, false);
        let changed = "notifications/tools/list_changed";

        assert!(
            listeners.deliver_to(other, changed, None).is_none(),
            "a shared stream"
        );
        assert!(
            listeners.deliver_to(SessionId(9), changed, None).is_none(),
            "no stream"
        );
        let unwanted = "notifications/prompts/list_changed";
        assert!(matches!(
            listeners.deliver_to(session, unwanted, None),
            Some(Ok(()))
        ));
        assert!(rx.try_recv().is_none(), "nothing it did not ask for");

        assert!(matches!(
            listeners.deliver_to(session, changed, None),
            Some(Ok(()))
        ));
        let note: Value = serde_json::from_slice(rx.try_recv().expect("queued").frame()).unwrap();
        assert_eq!(note["method"], changed);
        assert_eq!(
            note["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
            3
        );

        assert!(matches!(
            listeners.deliver_to(session, changed, None),
            Some(Ok(()))
        ));
        assert!(
            matches!(listeners.deliver_to(session, changed, None), Some(Err(NotifyError::Dropped(s))) if s == session),
            "the outbox of one is full"
        );
        drop(rx);
        assert!(
            matches!(listeners.deliver_to(session, changed, None), Some(Err(NotifyError::Gone(s))) if s == session),
            "the stream ended"
        );
        assert_eq!((listeners.len(), listeners.is_empty()), (2, false));
    }
}
