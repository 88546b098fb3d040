//! The bus's own settings and lifetime, without a Redis: a connector that
//! refuses every connection stands in for one that is down.

use std::io;
use std::time::Duration;

use super::{BusError, Connecting, RedisBus, RedisBusConfig, RedisConnector};
use crate::server::{EventBus, Listeners};
use crate::sync::{Arc, AtomicU64, Ordering};

/// Refuses every connection, counting the tries.
#[derive(Debug, Default)]
struct Refusing(Arc<AtomicU64>);

impl RedisConnector for Refusing {
    fn connect(&self) -> Connecting<'_> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Box::pin(async { Err(io::ErrorKind::ConnectionRefused.into()) })
    }
}

#[test]
fn the_config_keeps_what_it_is_given() {
    let config = RedisBusConfig::default()
        .channel("c")
        .publish_queue(0)
        .connect_timeout(Duration::from_millis(3))
        .max_backoff(Duration::from_millis(4))
        .health_interval(Duration::from_millis(5));
    assert_eq!(config.channel, "c");
    assert_eq!(config.publish_queue, 1, "a queue holds one event at least");
    assert_eq!(
        [config.connect_timeout, config.max_backoff, config.health_interval],
        [3, 4, 5].map(Duration::from_millis)
    );
}

#[test]
fn an_address_that_is_not_redis_is_refused() {
    let refused = RedisBus::start_with(
        "http://example.com/",
        Arc::new(Refusing::default()),
        RedisBusConfig::default(),
    );
    assert!(matches!(refused, Err(BusError::Address { .. })), "{refused:?}");
}

/// While Redis is down both tasks keep trying (with backoff); once the
/// bus is dropped, neither tries again.
#[tokio::test(start_paused = true)]
async fn dropping_the_bus_stops_its_tasks() {
    let tries = Arc::new(AtomicU64::new(0));
    let config = RedisBusConfig::default().max_backoff(Duration::from_millis(400));
    let connector = Arc::new(Refusing(Arc::clone(&tries)));
    let bus = RedisBus::start_with("redis://any/", connector, config).expect("a Redis address");
    bus.attach(Arc::new(Listeners::default()));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = tries.load(Ordering::Relaxed);
    assert!(
        before >= 6,
        "the publisher and the subscriber retry: {before} tries"
    );
    assert!(!bus.metrics().publishing, "Redis is down");
    drop(bus);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let dropped = tries.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        tries.load(Ordering::Relaxed),
        dropped,
        "a task went on after the bus was dropped"
    );
}
