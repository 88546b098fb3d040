//! The one accept loop, over any [`Listener`]: line sessions, Streamable
//! HTTP and the metrics endpoint all accept through it.
//!
//! It accepts until the shutdown token is cancelled, hands each connection
//! to its caller (who spawns the connection's task into the loop's
//! `JoinSet`, so the drain can wait for it or abort it), reaps finished
//! tasks as it goes, and after an `accept` error (a process out of file
//! descriptors, say) counts it and pauses before trying again, so the
//! error does not spin. With a cap on the tasks, it stops accepting while
//! the cap is reached and lets the listener's backlog hold the rest.

use std::time::Duration;

use tokio::task::{JoinError, JoinSet};

use super::listener::Listener;
use crate::metrics::{Metrics, incr};
use crate::sync::CancellationToken;

/// Pause after an `accept` error before accepting again.
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Why an accept loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AcceptQuit {
    /// The shutdown token was cancelled.
    Shutdown,
}

/// The tasks of one accept loop, and what it does with each connection.
pub(crate) struct AcceptLoop<'a, T> {
    /// What the loop is for, in logs (`"tcp"`, `"http"`, `"metrics"`).
    pub(crate) name: &'static str,
    pub(crate) shutdown: &'a CancellationToken,
    /// Counts `accept_errors`.
    pub(crate) metrics: &'a Metrics,
    /// The connections' tasks; the caller drains them after the loop.
    pub(crate) tasks: JoinSet<T>,
    /// Most tasks at once before the loop stops accepting.
    pub(crate) max_tasks: usize,
}

impl<T: 'static> AcceptLoop<'_, T> {
    /// Accepts from `listener` until shutdown, calling `accepted` with each
    /// connection (and the set to spawn its task in) and `reaped` with each
    /// task that ends meanwhile. The listener is dropped on return.
    pub(crate) async fn run<L: Listener>(
        &mut self,
        mut listener: L,
        mut accepted: impl FnMut(L::Io, L::Addr, &mut JoinSet<T>),
        mut reaped: impl FnMut(Result<T, JoinError>),
    ) -> AcceptQuit {
        let shutdown = self.shutdown;
        let quit = loop {
            let room = self.tasks.len() < self.max_tasks;
            tokio::select! {
                biased;
                // Cancel-safe: only waits.
                () = shutdown.cancelled() => break AcceptQuit::Shutdown,
                // Cancel-safe: unfinished tasks stay in the set.
                Some(done) = self.tasks.join_next(), if !self.tasks.is_empty() => reaped(done),
                // Cancel-safe: `Listener::accept` must be (see its docs).
                result = listener.accept(), if room => match result {
                    Ok((io, peer)) => accepted(io, peer, &mut self.tasks),
                    Err(e) => {
                        incr(&self.metrics.accept_errors);
                        tracing::warn!(listener = self.name, error = %e, "accept failed; retrying");
                        tokio::select! {
                            // Cancel-safe: only waits.
                            () = shutdown.cancelled() => {}
                            // Cancel-safe: a timer.
                            () = crate::sync::sleep(ACCEPT_BACKOFF) => {}
                        }
                    }
                },
            }
        };
        tracing::info!(listener = self.name, ?quit, "accept loop stopped");
        quit
    }
}
