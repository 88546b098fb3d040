//! The Redis session store's connection: one multiplexed connection (every
//! command pipelined on it), made and checked by a keeper task that
//! reconnects with a doubling backoff. A command never waits for a
//! connection: while there is none it fails at once.

use redis::aio::MultiplexedConnection;
use tokio::time::{Instant, sleep_until, timeout};

use super::{Counters, RedisStoreConfig};
use crate::bus::redis::dial::Dial;
use crate::server::store::StoreError;
use crate::sync::{Arc, CancellationToken, Mutex, Notify, Ordering, OwnedSemaphorePermit, Semaphore};

/// The first wait before connecting again.
pub(super) const MIN_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

/// The connection, shared by the store's calls and its keeper.
#[derive(Debug)]
pub(super) struct Link {
    pub(super) dial: Dial,
    pub(super) config: RedisStoreConfig,
    /// The connection while there is one.
    pub(super) current: Mutex<Option<MultiplexedConnection>>,
    /// Told by a command that failed: the keeper checks the connection.
    pub(super) suspect: Notify,
    /// One permit per command in flight.
    pub(super) outstanding: Arc<Semaphore>,
    pub(super) counters: Counters,
}

impl Link {
    /// The connection and a permit for one command; `Err` at once when
    /// there is no connection or too many commands are in flight.
    pub(super) fn take(&self) -> Result<(MultiplexedConnection, OwnedSemaphorePermit), StoreError> {
        let Some(connection) = self.current.lock().clone() else {
            return Err(StoreError("not connected to Redis".into()));
        };
        let permit = Arc::clone(&self.outstanding).try_acquire_owned().map_err(|_| {
            StoreError(format!(
                "{} Redis commands already in flight",
                self.config.max_outstanding
            ))
        })?;
        Ok((connection, permit))
    }

    /// Notes a failed command: counted, and the keeper checks the
    /// connection.
    pub(super) fn failed(&self, error: &redis::RedisError) -> StoreError {
        Counters::add(&self.counters.commands_failed);
        self.suspect.notify_one();
        StoreError(format!("Redis: {error}"))
    }

    /// Keeps a connection until `stop`: connects (again after every loss,
    /// with backoff), and checks it with a `PING` every health interval and
    /// whenever a command failed.
    pub(super) async fn keep(self: Arc<Self>, stop: CancellationToken) {
        let mut backoff = MIN_BACKOFF;
        loop {
            match self.dial.multiplexed(self.config.command_timeout).await {
                Ok(connection) => {
                    backoff = MIN_BACKOFF;
                    *self.current.lock() = Some(connection.clone());
                    self.counters.connected.store(1, Ordering::Relaxed);
                    tracing::info!("session store: connected to Redis");
                    let stopped = self.watch(connection, &stop).await;
                    self.current.lock().take();
                    self.counters.connected.store(0, Ordering::Relaxed);
                    if stopped {
                        return;
                    }
                    tracing::warn!("session store: lost its Redis connection; connecting again");
                }
                Err(why) => {
                    tracing::warn!(%why, retry_in = ?backoff, "session store: cannot connect to Redis")
                }
            }
            let retry_at = Instant::now() + backoff;
            backoff = (backoff * 2).min(self.config.max_backoff.max(MIN_BACKOFF));
            tokio::select! {
                biased;
                () = stop.cancelled() => return,
                () = sleep_until(retry_at) => {}
            }
        }
    }

    /// Returns when the connection fails a check (false) or on `stop`
    /// (true).
    async fn watch(&self, mut connection: MultiplexedConnection, stop: &CancellationToken) -> bool {
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => return true,
                () = self.suspect.notified() => {}
                () = tokio::time::sleep(self.config.health_interval) => {}
            }
            let ping = redis::cmd("PING");
            match timeout(
                self.config.command_timeout,
                ping.query_async::<String>(&mut connection),
            )
            .await
            {
                Ok(Ok(_pong)) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%error, "session store: PING failed");
                    return false;
                }
                Err(_elapsed) => {
                    tracing::warn!("session store: no answer to PING");
                    return false;
                }
            }
        }
    }
}
