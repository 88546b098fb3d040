//! The end of every `serve_*`: wait for the sessions within the grace
//! period, abort the stragglers, then wait for the core's drain.

use tokio::task::{JoinError, JoinSet};

use crate::server::{Server, ShutdownReport};

impl Server {
    /// Waits up to the grace period for the sessions, aborts the rest, and
    /// waits for the core's drain.
    pub(crate) async fn drain<T: 'static>(
        &self,
        mut sessions: JoinSet<T>,
        mut closed: u64,
    ) -> ShutdownReport {
        // tokio's clock, so that tests with paused time see virtual time.
        let started = tokio::time::Instant::now();
        let core = &self.shared.core;
        let grace = crate::sync::sleep(self.shared.config.shutdown_grace);
        tokio::pin!(grace);
        let mut aborted = 0u64;
        loop {
            tokio::select! {
                done = sessions.join_next() => match done {
                    Some(done) => closed += count_clean(&done),
                    None => break,
                },
                () = &mut grace => {
                    tracing::warn!(remaining = sessions.len(), "shutdown grace over; aborting sessions");
                    sessions.abort_all();
                    while let Some(done) = sessions.join_next().await {
                        match done {
                            Err(e) if e.is_cancelled() => aborted += 1,
                            other => closed += count_clean(&other),
                        }
                    }
                    break;
                }
            }
        }
        // Every session task is gone, so every Session has dropped: this
        // returns at once unless a Session was leaked somewhere.
        core.drained().await;
        let report = ShutdownReport {
            sessions_closed: closed,
            sessions_aborted: aborted,
            elapsed: started.elapsed(),
        };
        tracing::info!(?report, metrics = ?core.metrics(), "shutdown complete");
        report
    }
}

/// Counts a session task that ended (cleanly or with a panic) as closed.
pub(crate) fn count_clean<T>(done: &Result<T, JoinError>) -> u64 {
    match done {
        Ok(_) => 1,
        Err(e) => {
            tracing::error!(error = %e, "session task failed");
            1
        }
    }
}
