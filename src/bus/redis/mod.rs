//! [`RedisBus`]: notifications for listen streams shared by replicas over
//! Redis pub/sub.
//!
//! Every replica publishes each event once on one channel and subscribes to
//! it; an event carries its publisher's origin (random per bus), so a
//! replica skips its own events on the way back (it delivered them to its
//! own streams when it published them).
//!
//! Two tasks per bus, both ended when the bus is dropped:
//!
//! - the publisher owns the publishing connection and drains a bounded
//!   queue ([`RedisBusConfig::publish_queue`]), sending what is queued in
//!   one pipeline. `publish` never waits: a full queue counts the event as
//!   failed at once. While the connection is down, events are counted as
//!   failed at once, and a new connection is tried after a backoff that
//!   doubles up to [`RedisBusConfig::max_backoff`].
//! - the subscriber (started by [`EventBus::attach`]) holds the
//!   subscription, delivers other replicas' events to this replica's listen
//!   streams through their bounded outboxes (a full outbox drops and counts,
//!   as for local events), checks the connection with a `PING` every
//!   [`RedisBusConfig::health_interval`], and resubscribes after a loss
//!   with the same backoff.
//!
//! # What a listener may miss
//!
//! Redis pub/sub keeps nothing: an event published while Redis is down, or
//! while a replica's subscription is being made again, reaches only the
//! listen streams on the replica that raised it. Listen streams stay open
//! through an outage, receive nothing made up, and receive events again
//! once the subscription is back. A client that must not miss a change
//! re-reads what it cares about when its stream is new; the counters
//! ([`RedisBus::metrics`]) tell an operator how many events were lost.

pub(crate) mod dial;
mod publisher;
mod subscriber;
#[cfg(test)]
#[cfg(not(any(loom, shuttle)))]
mod tests;

use std::time::Duration;

use serde_json::Value;

use super::wire;
use super::{BusError, BusMetrics};
use crate::core::BroadcastReport;
use crate::server::{EventBus, Listeners};
use crate::sync::{Arc, AtomicU8, AtomicU64, CancellationToken, Ordering, mpsc};
use dial::Dial;
pub use dial::{Connecting, RedisConnector, RedisStream};
use publisher::Publisher;
use subscriber::Subscriber;

/// Default [`RedisBusConfig::channel`].
pub const DEFAULT_BUS_CHANNEL: &str = "mcp-server-core:events";
/// Default [`RedisBusConfig::publish_queue`].
pub const DEFAULT_BUS_PUBLISH_QUEUE: usize = 1024;
/// Default [`RedisBusConfig::connect_timeout`].
pub const DEFAULT_BUS_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Default [`RedisBusConfig::max_backoff`].
pub const DEFAULT_BUS_MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Default [`RedisBusConfig::health_interval`].
pub const DEFAULT_BUS_HEALTH_INTERVAL: Duration = Duration::from_secs(5);

/// First wait before connecting again after a failure.
pub(super) const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Events sent to Redis in one pipeline at most.
pub(super) const MAX_BATCH: usize = 64;

/// How a [`RedisBus`] connects and how much it holds.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisBusConfig {
    /// The pub/sub channel; replicas that share it see each other's events.
    pub channel: String,
    /// Events waiting to be published; one more is counted as failed.
    pub publish_queue: usize,
    /// Longest wait for a connection, a subscription, a publish or a ping.
    pub connect_timeout: Duration,
    /// Longest wait between two attempts to connect.
    pub max_backoff: Duration,
    /// How often the subscription's connection is checked with a `PING`.
    pub health_interval: Duration,
}

impl Default for RedisBusConfig {
    fn default() -> Self {
        Self {
            channel: DEFAULT_BUS_CHANNEL.to_owned(),
            publish_queue: DEFAULT_BUS_PUBLISH_QUEUE,
            connect_timeout: DEFAULT_BUS_CONNECT_TIMEOUT,
            max_backoff: DEFAULT_BUS_MAX_BACKOFF,
            health_interval: DEFAULT_BUS_HEALTH_INTERVAL,
        }
    }
}

impl RedisBusConfig {
    /// Sets [`RedisBusConfig::channel`].
    pub fn channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// Sets [`RedisBusConfig::publish_queue`] (at least 1).
    pub fn publish_queue(mut self, n: usize) -> Self {
        self.publish_queue = n.max(1);
        self
    }

    /// Sets [`RedisBusConfig::connect_timeout`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`RedisBusConfig::max_backoff`].
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Sets [`RedisBusConfig::health_interval`].
    pub fn health_interval(mut self, interval: Duration) -> Self {
        self.health_interval = interval;
        self
    }
}

/// The bus's counters, shared with its tasks.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) published: AtomicU64,
    pub(super) publish_failed: AtomicU64,
    pub(super) received: AtomicU64,
    pub(super) delivered: AtomicU64,
    pub(super) invalid: AtomicU64,
    pub(super) subscription_losses: AtomicU64,
    pub(super) subscribed: AtomicU8,
    pub(super) publishing: AtomicU8,
}

impl Counters {
    pub(super) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// An [`EventBus`] over Redis pub/sub (see the module documentation for
/// what it does during an outage). Give each server its own.
#[derive(Debug)]
pub struct RedisBus {
    dial: Arc<Dial>,
    config: RedisBusConfig,
    /// Random per bus: tells this replica's events from the others'.
    origin: String,
    events: mpsc::Sender<Vec<u8>>,
    counters: Arc<Counters>,
    runtime: tokio::runtime::Handle,
    /// Ends both tasks; cancelled when the bus is dropped.
    stop: CancellationToken,
    attached: AtomicU8,
}

impl RedisBus {
    /// A bus on the Redis server at `url` (`redis://HOST:PORT/`), with its
    /// publisher started. It does not wait for Redis: a server starts and
    /// serves while Redis is down, and the bus connects when Redis is back.
    ///
    /// # Errors
    ///
    /// [`BusError::Address`] when `url` is not a Redis address.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn start(url: &str, config: RedisBusConfig) -> Result<Arc<Self>, BusError> {
        Ok(Self::started(Dial::url(url).map_err(address(url))?, config))
    }

    /// A bus whose connections `connector` opens (through a proxy, a
    /// tunnel, a simulated network); `url` gives only the database and the
    /// credentials (`redis://:PASSWORD@any/DB`), its address is not used.
    /// Otherwise as [`RedisBus::start`].
    ///
    /// # Errors
    ///
    /// [`BusError::Address`] when `url` is not a Redis address.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn start_with(
        url: &str,
        connector: Arc<dyn RedisConnector>,
        config: RedisBusConfig,
    ) -> Result<Arc<Self>, BusError> {
        Ok(Self::started(
            Dial::own(url, connector).map_err(address(url))?,
            config,
        ))
    }

    fn started(dial: Dial, config: RedisBusConfig) -> Arc<Self> {
        let mut origin = [0u8; 8];
        crate::sync::random_fill(&mut origin);
        let (events, queued) = mpsc::channel(config.publish_queue.max(1));
        let bus = Arc::new(Self {
            origin: origin.iter().map(|b| format!("{b:02x}")).collect(),
            dial: Arc::new(dial),
            events,
            counters: Arc::default(),
            runtime: tokio::runtime::Handle::current(),
            stop: CancellationToken::new(),
            attached: AtomicU8::new(0),
            config,
        });
        let publisher = Publisher {
            dial: Arc::clone(&bus.dial),
            config: bus.config.clone(),
            counters: Arc::clone(&bus.counters),
        };
        bus.runtime.spawn(publisher.run(queued, bus.stop.clone()));
        bus
    }

    /// The counters now.
    pub fn metrics(&self) -> BusMetrics {
        let c = &self.counters;
        let read = |a: &AtomicU64| a.load(Ordering::Relaxed);
        BusMetrics {
            published: read(&c.published),
            publish_failed: read(&c.publish_failed),
            received: read(&c.received),
            delivered: read(&c.delivered),
            invalid: read(&c.invalid),
            subscription_losses: read(&c.subscription_losses),
            subscribed: c.subscribed.load(Ordering::Relaxed) == 1,
            publishing: c.publishing.load(Ordering::Relaxed) == 1,
        }
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl EventBus for RedisBus {
    fn publish(&self, method: &str, params: Option<&Value>, local: &Listeners) -> BroadcastReport {
        let report = local.deliver(method, params);
        if self
            .events
            .try_send(wire::encode(&self.origin, method, params))
            .is_err()
        {
            Counters::add(&self.counters.publish_failed, 1);
        }
        report
    }

    fn metrics(&self) -> Option<BusMetrics> {
        Some(RedisBus::metrics(self))
    }

    fn attach(&self, local: Arc<Listeners>) {
        if self.attached.swap(1, Ordering::Relaxed) == 1 {
            tracing::warn!(
                "a Redis event bus was given to a second server; that server's listen streams get only its own events"
            );
            return;
        }
        let subscriber = Subscriber {
            dial: Arc::clone(&self.dial),
            config: self.config.clone(),
            origin: self.origin.clone(),
            counters: Arc::clone(&self.counters),
            local,
        };
        self.runtime.spawn(subscriber.run(self.stop.clone()));
    }
}

/// The error of a `url` that is not a Redis address.
fn address(url: &str) -> impl FnOnce(String) -> BusError + '_ {
    move |reason| BusError::Address {
        url: url.to_owned(),
        reason,
    }
}

/// The next wait after `backoff`.
pub(super) fn doubled(backoff: Duration, max: Duration) -> Duration {
    (backoff * 2).min(max.max(MIN_BACKOFF))
}
