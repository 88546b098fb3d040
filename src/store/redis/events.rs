//! What replicas that share a Redis session store tell each other about
//! sessions (`SessionEvent`: deleted, changed, a client's answer), over
//! Redis pub/sub on `<prefix>events`, and about tasks (`TaskEvent`: a
//! cancel or an update for the replica running the task) on
//! `<prefix>tasks`. Best effort, like every pub/sub: an
//! event published while a replica's subscription is down does not reach
//! it. Once the subscription is back, the replica checks every session it
//! holds against its record (a deleted one ends, a changed one is taken
//! up); a call that waited for an answer that was lost ends with its
//! timeout.

use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use serde::{Deserialize, Serialize};
use tokio::time::timeout;

use super::Counters;
use super::link::{Link, MIN_BACKOFF};
use crate::server::store::{SessionEvent, Sinks, TaskEvent, TaskEvents};
use crate::sync::{Arc, CancellationToken, Ordering};

/// One event on the channel.
#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    /// The store that published it (random per store): its own events
    /// come back to it, and are skipped.
    origin: String,
    sid: String,
    event: SessionEvent,
}

/// One task event on the tasks channel.
#[derive(Debug, Serialize, Deserialize)]
struct TaskWire {
    origin: String,
    event: TaskEvent,
}

/// Where this process's stores deliver what other replicas announce.
#[derive(Debug, Default)]
pub(super) struct Receivers {
    pub(super) sessions: Sinks,
    pub(super) tasks: Sinks<dyn TaskEvents>,
}

/// Publishes `event` about `sid` without waiting; counted as dropped when
/// it cannot be sent.
pub(super) fn publish(
    link: &Arc<Link>,
    runtime: &tokio::runtime::Handle,
    origin: &str,
    sid: &str,
    event: &SessionEvent,
) {
    let wire = Wire {
        origin: origin.to_owned(),
        sid: sid.to_owned(),
        event: event.clone(),
    };
    send(
        link,
        runtime,
        channel(&link.config.prefix),
        serde_json::to_vec(&wire),
    );
}

/// Publishes task event `event` without waiting, as [`publish`] does.
pub(super) fn publish_task(
    link: &Arc<Link>,
    runtime: &tokio::runtime::Handle,
    origin: &str,
    event: &TaskEvent,
) {
    let wire = TaskWire {
        origin: origin.to_owned(),
        event: event.clone(),
    };
    send(
        link,
        runtime,
        task_channel(&link.config.prefix),
        serde_json::to_vec(&wire),
    );
}

fn send(
    link: &Arc<Link>,
    runtime: &tokio::runtime::Handle,
    channel: String,
    payload: serde_json::Result<Vec<u8>>,
) {
    let (Ok(payload), Ok((mut connection, permit))) = (payload, link.take()) else {
        Counters::add(&link.counters.events_dropped);
        return;
    };
    let mut command = redis::cmd("PUBLISH");
    command.arg(channel).arg(payload);
    let link = Arc::clone(link);
    runtime.spawn(async move {
        let _permit = permit;
        let sent = timeout(
            link.config.command_timeout,
            command.query_async::<i64>(&mut connection),
        );
        if !matches!(sent.await, Ok(Ok(_))) {
            Counters::add(&link.counters.events_dropped);
            link.suspect.notify_one();
        }
    });
}

fn channel(prefix: &str) -> String {
    format!("{prefix}events")
}

fn task_channel(prefix: &str) -> String {
    format!("{prefix}tasks")
}

/// Holds the subscription until `stop` (made again after every loss, with
/// backoff) and hands other stores' events to `sinks`.
pub(super) async fn subscribe(
    link: Arc<Link>,
    origin: String,
    sinks: Arc<Receivers>,
    stop: CancellationToken,
) {
    let mut backoff = MIN_BACKOFF;
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => return,
            why = subscription(&link, &origin, &sinks) => {
                link.counters.subscribed.store(0, Ordering::Relaxed);
                tracing::warn!(%why, retry_in = ?backoff, "session store: event subscription lost");
            }
        }
        tokio::select! {
            biased;
            () = stop.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(link.config.max_backoff.max(MIN_BACKOFF));
    }
}

/// Subscribes and delivers until the subscription is lost; why.
async fn subscription(link: &Link, origin: &str, sinks: &Receivers) -> String {
    let wait: Duration = link.config.command_timeout;
    let pubsub = match link.dial.subscribing(wait).await {
        Ok(pubsub) => pubsub,
        Err(why) => return why,
    };
    let (mut sink, mut stream): (PubSubSink, PubSubStream) = pubsub.split();
    let channels = [channel(&link.config.prefix), task_channel(&link.config.prefix)];
    match timeout(wait, sink.subscribe(&channels)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return e.to_string(),
        Err(_) => return format!("no subscription within {wait:?}"),
    }
    link.counters.subscribed.store(1, Ordering::Relaxed);
    // What was published while there was no subscription is lost: every
    // session held here is checked against its record.
    sinks.sessions.resync();
    let mut health = tokio::time::interval(link.config.health_interval);
    health.tick().await;
    loop {
        tokio::select! {
            biased;
            // Cancel safe: a stream's `next` loses nothing.
            message = stream.next() => match message {
                Some(message) if message.get_channel_name() == channels[1] => {
                    receive_task(link, origin, &sinks.tasks, message.get_payload_bytes());
                }
                Some(message) => receive(link, origin, &sinks.sessions, message.get_payload_bytes()),
                None => return "the connection closed".into(),
            },
            // Cancel safe: a tick lost is taken again next time.
            _ = health.tick() => {
                if !matches!(timeout(wait, sink.ping::<redis::Value>()).await, Ok(Ok(_))) {
                    return format!("no answer to PING within {wait:?}");
                }
            }
        }
    }
}

/// Hands one event of the channel to this process's sinks, unless this
/// store published it.
fn receive(link: &Link, origin: &str, sinks: &Sinks, payload: &[u8]) {
    match serde_json::from_slice::<Wire>(payload) {
        Ok(wire) if wire.origin == origin => {}
        Ok(wire) => {
            Counters::add(&link.counters.events_received);
            sinks.deliver(0, &wire.sid, &wire.event);
        }
        Err(why) => tracing::warn!(%why, "session store: a message on the event channel was refused"),
    }
}

/// Hands one event of the tasks channel to this process's sinks, unless
/// this store published it.
fn receive_task(link: &Link, origin: &str, sinks: &Sinks<dyn TaskEvents>, payload: &[u8]) {
    match serde_json::from_slice::<TaskWire>(payload) {
        Ok(wire) if wire.origin == origin => {}
        Ok(wire) => {
            Counters::add(&link.counters.events_received);
            sinks.deliver_task(0, &wire.event);
        }
        Err(why) => tracing::warn!(%why, "session store: a message on the tasks channel was refused"),
    }
}
