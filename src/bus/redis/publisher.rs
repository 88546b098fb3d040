//! The bus's publisher task: owns the publishing connection, drains the
//! bounded queue in pipelines, and reconnects with a doubling backoff.
//! While the connection is down, what is queued is counted as failed.

use std::ops::ControlFlow;

use redis::aio::MultiplexedConnection;
use tokio::time::{Instant, sleep_until};

use super::dial::Dial;
use super::{Counters, MAX_BATCH, MIN_BACKOFF, RedisBusConfig, doubled};
use crate::sync::{Arc, CancellationToken, Ordering, mpsc};

/// The task that owns the publishing connection.
pub(super) struct Publisher {
    pub(super) dial: Arc<Dial>,
    pub(super) config: RedisBusConfig,
    pub(super) counters: Arc<Counters>,
}

impl Publisher {
    /// Connects (again after every loss, with backoff), then publishes
    /// what is queued; while there is no connection, what is queued is
    /// counted as failed at once.
    pub(super) async fn run(self, mut queued: mpsc::Receiver<Vec<u8>>, stop: CancellationToken) {
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
        self.dial.multiplexed(self.config.connect_timeout).await
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
            // Biased, so that a run replays (a simulation's clock makes
            // ties): once the retry time has come, what is queued waits
            // for the new connection.
            tokio::select! {
                biased;
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
