//! The bus's subscriber task: holds the subscription, delivers other
//! replicas' events to this replica's listen streams, checks the connection
//! with `PING`, and resubscribes after a loss with a doubling backoff.

use futures_util::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use tokio::time::{sleep, timeout};

use super::dial::Dial;
use super::{Counters, MIN_BACKOFF, RedisBusConfig, doubled};
use crate::bus::wire::{self, Event};
use crate::server::Listeners;
use crate::sync::{Arc, CancellationToken, Ordering};

/// The task that holds the subscription.
pub(super) struct Subscriber {
    pub(super) dial: Arc<Dial>,
    pub(super) config: RedisBusConfig,
    pub(super) origin: String,
    pub(super) counters: Arc<Counters>,
    pub(super) local: Arc<Listeners>,
}

/// Why a subscription ended.
enum Lost {
    /// It was never made.
    NotMade(String),
    /// It was made, then lost.
    Broken(String),
}

impl Subscriber {
    pub(super) async fn run(self, stop: CancellationToken) {
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
        let pubsub = match self.dial.subscribing(wait).await {
            Ok(pubsub) => pubsub,
            Err(why) => return Lost::NotMade(why),
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
            // Biased, so that a run replays (a simulation's clock makes
            // ties): a message that came with the tick is delivered first.
            tokio::select! {
                biased;
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
