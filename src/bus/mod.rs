//! Event buses shared by several replicas: the backends of the server's
//! [`EventBus`](crate::server::EventBus) that carry notifications for
//! listen streams (2026-07-28 `subscriptions/listen`) from the replica
//! that raises them to every other (`../shared/DESIGN.md`, "Scale-out").
//!
//! - `RedisBus` (feature `redis-bus`): Redis pub/sub, one channel for all
//!   events.
//!
//! A replica always delivers its own events to its own streams at once,
//! whatever the bus's state; the bus adds the other replicas' events. What
//! a listener may miss while the bus is down is said on [`RedisBus`].

#[cfg(all(feature = "redis-bus", not(shuttle)))]
pub(crate) mod redis;
#[cfg(all(feature = "redis-bus", not(shuttle)))]
mod wire;

#[cfg(all(feature = "redis-bus", not(shuttle)))]
pub use self::redis::{
    Connecting, DEFAULT_BUS_CHANNEL, DEFAULT_BUS_CONNECT_TIMEOUT, DEFAULT_BUS_HEALTH_INTERVAL,
    DEFAULT_BUS_MAX_BACKOFF, DEFAULT_BUS_PUBLISH_QUEUE, RedisBus, RedisBusConfig, RedisConnector,
    RedisStream,
};
pub use crate::server::BusMetrics;

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
