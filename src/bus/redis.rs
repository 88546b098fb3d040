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

use std::ops::ControlFlow;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use redis::{AsyncConnectionConfig, Client};
use serde_json::Value;
use tokio::time::{Instant, sleep, sleep_until, timeout};

use super::wire::{self, Event};
use super::{BusError, BusMetrics};
use crate::core::BroadcastReport;
use crate::server::{EventBus, Listeners};
use crate::sync::{Arc, AtomicU8, AtomicU64, CancellationToken, Ordering, mpsc};

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
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Events sent to Redis in one pipeline at most.
const MAX_BATCH: usize = 64;

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
struct Counters {
    published: AtomicU64,
    publish_failed: AtomicU64,
    received: AtomicU64,
    delivered: AtomicU64,
    invalid: AtomicU64,
    subscription_losses: AtomicU64,
    subscribed: AtomicU8,
    publishing: AtomicU8,
}

impl Counters {
    fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// An [`EventBus`] over Redis pub/sub (see the module documentation for
/// what it does during an outage). Give each server its own.
#[derive(Debug)]
pub struct RedisBus {
    client: Client,
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
        let client = Client::open(url).map_err(|e| BusError::Address {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        let mut origin = [0u8; 8];
        getrandom::fill(&mut origin).expect("the operating system's random generator");
        let (events, queued) = mpsc::channel(config.publish_queue.max(1));
        let bus = Arc::new(Self {
            origin: origin.iter().map(|b| format!("{b:02x}")).collect(),
            client,
            events,
            counters: Arc::default(),
            runtime: tokio::runtime::Handle::current(),
            stop: CancellationToken::new(),
            attached: AtomicU8::new(0),
            config,
        });
        let publisher = Publisher {
            client: bus.client.clone(),
            config: bus.config.clone(),
            counters: Arc::clone(&bus.counters),
        };
        bus.runtime.spawn(publisher.run(queued, bus.stop.clone()));
        Ok(bus)
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
            client: self.client.clone(),
            config: self.config.clone(),
            origin: self.origin.clone(),
            counters: Arc::clone(&self.counters),
            local,
        };
        self.runtime.spawn(subscriber.run(self.stop.clone()));
    }
}

/// The next wait after `backoff`.
fn doubled(backoff: Duration, max: Duration) -> Duration {
    (backoff * 2).min(max.max(MIN_BACKOFF))
}

/// The task that owns the publishing connection.
struct Publisher {
    client: Client,
    config: RedisBusConfig,
    counters: Arc<Counters>,
}

impl Publisher {
    /// Connects (again after every loss, with backoff), then publishes
    /// what is queued; while there is no connection, what is queued is
    /// counted as failed at once.
    async fn run(self, mut queued: mpsc::Receiver<Vec<u8>>, stop: CancellationToken) {
        let mut backoff = MIN_BACKOFF;
        loop {
            let connection = match self.connect().await {
                Ok(connection) => connection,
                Err(why) => {
                    tracing::warn!(%why, retry_in = ?backoff, "event bus: cannot connect to publish");
                    let retry_at = Instant::now() + backoff;
                    backoff = doubled(backoff, self.config.max_backoff);
                    if self.fail_until(retry_at, &mut queued, &stop).await.is_break() {
                        return;
                    }
                    continue;
                }
            };
            backoff = MIN_BACKOFF;
            self.counters.publishing.store(1, Ordering::Relaxed);
            tracing::info!("event bus: publishing connection made");
            let lost = self.publish_all(connection, &mut queued, &stop).await;
            self.counters.publishing.store(0, Ordering::Relaxed);
            match lost {
                ControlFlow::Break(()) => return,
                ControlFlow::Continue(()) => {
                    let retry_at = Instant::now() + backoff;
                    if self.fail_until(retry_at, &mut queued, &stop).await.is_break() {
                        return;
                    }
                }
            }
        }
    }

    async fn connect(&self) -> Result<MultiplexedConnection, String> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.config.connect_timeout))
            .set_response_timeout(Some(self.config.connect_timeout));
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| e.to_string())
    }

    /// Counts every event queued before `retry_at` as failed. Breaks when
    /// the bus stops.
    async fn fail_until(
        &self,
        retry_at: Instant,
        queued: &mut mpsc::Receiver<Vec<u8>>,
        stop: &CancellationToken,
    ) -> ControlFlow<()> {
        loop {
            // Cancel safe: `recv` loses nothing when another branch wins.
            tokio::select! {
                () = stop.cancelled() => return ControlFlow::Break(()),
                () = sleep_until(retry_at) => return ControlFlow::Continue(()),
                event = queued.recv() => match event {
                    Some(_) => Counters::add(&self.counters.publish_failed, 1),
                    None => return ControlFlow::Break(()),
                },
            }
        }
    }

    /// Publishes queued events in batches until the connection fails
    /// (`Continue`) or the bus stops (`Break`).
    async fn publish_all(
        &self,
        mut connection: MultiplexedConnection,
        queued: &mut mpsc::Receiver<Vec<u8>>,
        stop: &CancellationToken,
    ) -> ControlFlow<()> {
        loop {
            // Cancel safe: `recv` loses nothing when the other branch wins.
            let first = tokio::select! {
                () = stop.cancelled() => return ControlFlow::Break(()),
                event = queued.recv() => match event {
                    Some(event) => event,
                    None => return ControlFlow::Break(()),
                },
            };
            let mut pipe = redis::pipe();
            pipe.cmd("PUBLISH").arg(&self.config.channel).arg(first).ignore();
            let mut n = 1;
            // Events already queued join the batch; this never waits.
            while n < MAX_BATCH {
                let Ok(event) = queued.try_recv() else { break };
                pipe.cmd("PUBLISH").arg(&self.config.channel).arg(event).ignore();
                n += 1;
            }
            if let Err(e) = pipe.query_async::<()>(&mut connection).await {
                tracing::warn!(error = %e, events = n, "event bus: publishing failed; connecting again");
                Counters::add(&self.counters.publish_failed, n);
                return ControlFlow::Continue(());
            }
            Counters::add(&self.counters.published, n);
        }
    }
}

/// The task that holds the subscription.
struct Subscriber {
    client: Client,
    config: RedisBusConfig,
    origin: String,
    counters: Arc<Counters>,
    local: Arc<Listeners>,
}

/// Why a subscription ended.
enum Lost {
    /// It was never made.
    NotMade(String),
    /// It was made, then lost.
    Broken(String),
}

impl Subscriber {
    async fn run(self, stop: CancellationToken) {
        let mut backoff = MIN_BACKOFF;
        loop {
            // Cancel safe: dropping a subscription loses only the
            // connection, which is what stopping means.
            let lost = tokio::select! {
                () = stop.cancelled() => return,
                lost = self.subscription() => lost,
            };
            self.counters.subscribed.store(0, Ordering::Relaxed);
            match lost {
                Lost::Broken(why) => {
                    Counters::add(&self.counters.subscription_losses, 1);
                    backoff = MIN_BACKOFF;
                    tracing::warn!(%why, "event bus: subscription lost; other replicas' events are missed until it is made again");
                }
                Lost::NotMade(why) => {
                    tracing::warn!(%why, retry_in = ?backoff, "event bus: cannot subscribe");
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = sleep(backoff) => {}
            }
            backoff = doubled(backoff, self.config.max_backoff);
        }
    }

    /// Subscribes and delivers events until the subscription is lost.
    async fn subscription(&self) -> Lost {
        let wait = self.config.connect_timeout;
        let pubsub = match timeout(wait, self.client.get_async_pubsub()).await {
            Ok(Ok(pubsub)) => pubsub,
            Ok(Err(e)) => return Lost::NotMade(e.to_string()),
            Err(_) => return Lost::NotMade(format!("no connection within {wait:?}")),
        };
        let (mut sink, mut stream): (PubSubSink, PubSubStream) = pubsub.split();
        match timeout(wait, sink.subscribe(&self.config.channel)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Lost::NotMade(e.to_string()),
            Err(_) => return Lost::NotMade(format!("no subscription within {wait:?}")),
        }
        self.counters.subscribed.store(1, Ordering::Relaxed);
        tracing::info!(channel = %self.config.channel, "event bus: subscribed");
        let mut health = tokio::time::interval(self.config.health_interval);
        health.tick().await;
        loop {
            tokio::select! {
                // Cancel safe: a stream's `next` loses nothing.
                message = stream.next() => match message {
                    Some(message) => self.receive(message.get_payload_bytes()),
                    None => return Lost::Broken("the connection closed".into()),
                },
                // Cancel safe: a tick lost is taken again next time.
                _ = health.tick() => {
                    if !matches!(timeout(wait, sink.ping::<redis::Value>()).await, Ok(Ok(_))) {
                        return Lost::Broken(format!("no answer to PING within {wait:?}"));
                    }
                }
            }
        }
    }

    /// Delivers one message of the channel to this replica's streams,
    /// unless this replica published it.
    fn receive(&self, payload: &[u8]) {
        match wire::decode(payload) {
            Ok(Event { origin, .. }) if origin == self.origin => {}
            Ok(event) => {
                Counters::add(&self.counters.received, 1);
                let report = self.local.deliver(&event.method, event.params.as_ref());
                Counters::add(&self.counters.delivered, report.queued);
            }
            Err(why) => {
                Counters::add(&self.counters.invalid, 1);
                tracing::warn!(%why, "event bus: a message on the channel was refused");
            }
        }
    }
}
