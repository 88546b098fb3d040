//! Listen streams (2026-07-28 `subscriptions/listen`) and the event bus
//! that feeds them.
//!
//! A listen stream is registered here with its filter, its subscription id
//! and the outbox it is written from, for as long as its [`ListenGuard`]
//! lives. Notifications for listen streams are published on the server's
//! [`EventBus`]; the default, [`InProcessBus`], delivers them at once to this
//! process's streams. A bus shared by several replicas publishes each event
//! to all of them, and each delivers it to its own streams with
//! [`Listeners::deliver`] (the seam of `../shared/DESIGN.md`, "Scale-out").
//!
//! Delivery follows `broadcast`'s rules: the table's lock is held only to
//! clone the streams that want the event; each gets its own copy (stamped
//! with its subscription id) without waiting, and a full outbox drops it and
//! counts it.

use std::collections::HashMap;
use std::fmt;

use serde_json::Value;

use crate::core::{BroadcastReport, OutboxSender};
use crate::error::NotifyError;
use crate::protocol::jsonrpc::RequestId;
use crate::protocol::listen::{ListenFilter, stream_notification};
use crate::sync::{Arc, AtomicU64, Mutex, Ordering};

/// Where notifications for listen streams are published.
pub trait EventBus: Send + Sync + fmt::Debug + 'static {
    /// Publishes a notification of `method` with `params`; every process
    /// that shares the bus delivers it to its own listen streams that asked
    /// for it (this one's are `local`). Returns what this process delivered.
    fn publish(&self, method: &str, params: Option<&Value>, local: &Listeners) -> BroadcastReport;
}

/// The default bus: one process, delivery at once.
#[derive(Debug, Default, Clone, Copy)]
pub struct InProcessBus;

impl EventBus for InProcessBus {
    fn publish(&self, method: &str, params: Option<&Value>, local: &Listeners) -> BroadcastReport {
        local.deliver(method, params)
    }
}

/// One registered listen stream.
#[derive(Debug, Clone)]
struct Listener {
    filter: Arc<ListenFilter>,
    id: RequestId,
    outbox: OutboxSender,
}

/// The listen streams of this process.
#[derive(Debug, Default)]
pub struct Listeners {
    map: Mutex<HashMap<u64, Listener>>,
    next: AtomicU64,
}

impl Listeners {
    /// Registers a listen stream until the guard drops.
    pub(crate) fn add(
        self: &Arc<Self>,
        filter: ListenFilter,
        id: RequestId,
        outbox: OutboxSender,
    ) -> ListenGuard {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        let listener = Listener {
            filter: Arc::new(filter),
            id,
            outbox,
        };
        self.map.lock().insert(key, listener);
        ListenGuard {
            listeners: Arc::clone(self),
            key,
        }
    }

    /// Delivers a notification to every stream here that asked for it,
    /// without waiting.
    pub fn deliver(&self, method: &str, params: Option<&Value>) -> BroadcastReport {
        let targets: Vec<Listener> = self
            .map
            .lock()
            .values()
            .filter(|l| l.filter.wants(method, params))
            .cloned()
            .collect();
        let mut report = BroadcastReport::default();
        for listener in targets {
            let frame = stream_notification(method, params, &listener.id);
            match listener.outbox.try_notify(frame) {
                Ok(()) => report.queued += 1,
                Err(NotifyError::Gone(_)) => report.gone += 1,
                Err(_) => report.dropped += 1,
            }
        }
        report
    }

    /// Listen streams registered now.
    pub fn len(&self) -> usize {
        self.map.lock().len()
    }

    /// True when no listen stream is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keeps a listen stream registered; dropping it ends the registration.
#[derive(Debug)]
pub(crate) struct ListenGuard {
    listeners: Arc<Listeners>,
    key: u64,
}

impl Drop for ListenGuard {
    fn drop(&mut self) {
        self.listeners.map.lock().remove(&self.key);
    }
}
