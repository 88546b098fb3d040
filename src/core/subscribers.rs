//! The registrations of long-lived notification streams (2026-07-28 listen
//! streams), each with the filter it subscribed with and the outbox it is
//! written from, for as long as its [`Subscription`] lives.
//!
//! # Invariants
//!
//! 1. Delivery never waits and never holds the lock while sending: it
//!    clones the matching registrations under the lock, drops it, then
//!    `try_notify`s each, so every message is queued, dropped and counted
//!    (full outbox), or reported gone (the stream ended meanwhile).
//! 2. A stream is registered exactly while its [`Subscription`] lives: when
//!    the stream ends (its client closed it, or shutdown ended its session)
//!    the registration goes with it, so nothing is delivered into a stream
//!    that has ended and the table never outgrows the live streams.
//!
//! Lock order: a leaf; nothing else is locked while it is held.
//!
//! Known-bad variant `subscription_left` (model builds only): dropping a
//! subscription leaves its registration behind. The listen-stream shutdown
//! model catches it.

use bytes::Bytes;

use super::{BroadcastReport, IdMap, OutboxSender};
use crate::error::NotifyError;
use crate::sync::{Arc, AtomicU64, Mutex, Ordering, mutant};

/// Registered streams, each with a filter of type `F`.
#[derive(Debug)]
pub struct Subscribers<F> {
    map: Mutex<IdMap<u64, (Arc<F>, OutboxSender)>>,
    next: AtomicU64,
}

impl<F> Default for Subscribers<F> {
    fn default() -> Self {
        Self {
            map: Mutex::new(IdMap::default()),
            next: AtomicU64::new(0),
        }
    }
}

impl<F> Subscribers<F> {
    /// Registers a stream written from `outbox`, until the subscription
    /// drops. (An associated function: loom's `Arc` cannot be a receiver.)
    pub fn subscribe(this: &Arc<Self>, filter: F, outbox: OutboxSender) -> Subscription<F> {
        let key = this.next.fetch_add(1, Ordering::Relaxed);
        this.map.lock().insert(key, (Arc::new(filter), outbox));
        Subscription {
            subscribers: Arc::clone(this),
            key,
        }
    }

    /// Offers a message to every registered stream: `frame_for` says what
    /// (if anything) goes to a stream with that filter. Never waits.
    pub fn deliver(&self, frame_for: impl Fn(&F) -> Option<Bytes>) -> BroadcastReport {
        let targets: Vec<(Arc<F>, OutboxSender)> = self.map.lock().values().cloned().collect();
        let mut report = BroadcastReport::default();
        for (filter, outbox) in targets {
            let Some(frame) = frame_for(&filter) else { continue };
            match outbox.try_notify(frame) {
                Ok(()) => report.queued += 1,
                Err(NotifyError::Gone(_)) => report.gone += 1,
                Err(_) => report.dropped += 1,
            }
        }
        report
    }

    /// True if a registered stream's filter satisfies `pred`.
    pub fn any(&self, mut pred: impl FnMut(&F) -> bool) -> bool {
        self.map.lock().values().any(|(filter, _)| pred(filter))
    }

    /// Streams registered now.
    pub fn len(&self) -> usize {
        self.map.lock().len()
    }

    /// True when no stream is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keeps one stream registered; dropping it ends the registration.
#[derive(Debug)]
pub struct Subscription<F> {
    subscribers: Arc<Subscribers<F>>,
    key: u64,
}

impl<F> Drop for Subscription<F> {
    fn drop(&mut self) {
        if mutant("subscription_left") {
            return;
        }
        self.subscribers.map.lock().remove(&self.key);
    }
}
