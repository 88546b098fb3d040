//! Event buses shared by several replicas: the backends of the server's
//! [`EventBus`](crate::server::EventBus) that carry notifications for
//! listen streams (2026-07-28 `subscriptions/listen`) from the replica
//! that raises them to every other (`../shared/DESIGN.md`, "Scale-out").
//!
//! - [`RedisBus`]: Redis pub/sub, one channel for all events.
//!
//! A replica always delivers its own events to its own streams at once,
//! whatever the bus's state; the bus adds the other replicas' events. What
//! a listener may miss while the bus is down is said on [`RedisBus`].

mod redis;
mod wire;

pub use self::redis::{
    DEFAULT_BUS_CHANNEL, DEFAULT_BUS_CONNECT_TIMEOUT, DEFAULT_BUS_HEALTH_INTERVAL, DEFAULT_BUS_MAX_BACKOFF,
    DEFAULT_BUS_PUBLISH_QUEUE, RedisBus, RedisBusConfig,
};

/// Counters of a shared bus, read as a snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BusMetrics {
    /// Events this replica published on the bus.
    pub published: u64,
    /// Events this replica could not publish (the bus was down, slow or its
    /// queue full); other replicas' listeners never saw them.
    pub publish_failed: u64,
    /// Events of other replicas read from the bus.
    pub received: u64,
    /// Copies of those events queued on this replica's listen streams.
    pub delivered: u64,
    /// Messages on the bus's channel that were not events of this format
    /// (refused, delivered nowhere).
    pub invalid: u64,
    /// Times the subscription was lost after it had been made.
    pub subscription_losses: u64,
    /// True while this replica is subscribed (other replicas' events reach it).
    pub subscribed: bool,
    /// True while this replica has a connection to publish on (its events
    /// reach the others).
    pub publishing: bool,
}

/// Why a bus could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The bus's address is not one the backend understands.
    #[error("event bus address {url:?}: {reason}")]
    Address {
        /// The address given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}
