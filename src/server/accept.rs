//! Accept loops: TCP and single-connection (stdio), and the shutdown that
//! ends them.
//!
//! Each admitted connection becomes one task in a `JoinSet`, so the loop can
//! reap finished sessions as it goes and abort stragglers when the grace
//! period runs out. The core's drain then confirms that every session has
//! deregistered and released its permit.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinError, JoinSet};

use super::session::{self, QuitReason};
use super::{Server, ShutdownReport};
use crate::error::AdmitError;
use crate::metrics::incr;
use crate::protocol::jsonrpc::{ErrorObject, SERVER_AT_CAPACITY, encode_error};
use crate::sync::Arc;
use crate::transport::tcp;

/// Pause after an `accept` error (for example, too many open files) before
/// accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// Most rejected connections being told "at capacity" at once; past this a
/// rejected connection is closed with a best-effort write only.
const MAX_PENDING_REJECTIONS: usize = 1024;
/// How long a rejected connection gets to read its error before it is closed.
const REJECT_LINGER: Duration = Duration::from_secs(1);
/// Bytes of a rejected client's input read (and discarded) while it lingers.
const REJECT_DRAIN_BYTES: usize = 64 * 1024;

/// Why the accept loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AcceptQuit {
    Shutdown,
}

impl Server {
    /// Serves MCP over TCP on `listener` until [`super::ServerHandle::shutdown`]
    /// is called, then drains and returns the report.
    ///
    /// For a listener with a backlog sized for connect storms, bind it with
    /// [`crate::transport::tcp::bind`].
    pub async fn serve_tcp(&self, listener: TcpListener) -> ShutdownReport {
        let core = &self.shared.core;
        let shutdown = core.shutdown_token();
        let mut sessions: JoinSet<QuitReason> = JoinSet::new();
        let mut rejections: JoinSet<()> = JoinSet::new();
        let mut closed = 0u64;
        let quit = loop {
            tokio::select! {
                biased;
                // Cancel-safe: only waits.
                () = shutdown.cancelled() => break AcceptQuit::Shutdown,
                // Cancel-safe: unfinished tasks stay in the set.
                Some(done) = sessions.join_next(), if !sessions.is_empty() => closed += count_clean(&done),
                Some(_) = rejections.join_next(), if !rejections.is_empty() => {}
                // Cancel-safe: TcpListener::accept.
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        tcp::tune(&stream);
                        self.admit_tcp(stream, peer, &mut sessions, &mut rejections);
                    }
                    Err(e) => {
                        incr(&core.metrics_ref().accept_errors);
                        tracing::warn!(error = %e, "accept failed; retrying");
                        tokio::select! {
                            () = shutdown.cancelled() => {}
                            () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                        }
                    }
                },
            }
        };
        tracing::info!(?quit, "accept loop stopped; draining sessions");
        drop(listener);
        rejections.abort_all();
        self.drain(sessions, closed).await
    }

    fn admit_tcp(
        &self,
        stream: TcpStream,
        peer: std::net::SocketAddr,
        sessions: &mut JoinSet<QuitReason>,
        rejections: &mut JoinSet<()>,
    ) {
        let core = &self.shared.core;
        let admitted = core.admit().and_then(|permit| core.register(permit));
        match admitted {
            Ok((session, outbox)) => {
                tracing::debug!(session = %session.id(), %peer, "session admitted");
                let shared = Arc::clone(&self.shared);
                sessions.spawn(async move {
                    let (reader, writer) = stream.into_split();
                    session::run(shared, session, outbox, reader, writer).await
                });
            }
            Err(error) => {
                tracing::debug!(%peer, %error, "connection refused");
                let frame = rejection_frame(&error);
                if rejections.len() < MAX_PENDING_REJECTIONS {
                    rejections.spawn(reject(stream, frame));
                } else {
                    let _ = stream.try_write(&frame);
                }
            }
        }
    }

    /// Serves one client over a reader and a writer (stdio, or any stream
    /// pair) until it disconnects or [`super::ServerHandle::shutdown`] is
    /// called, then returns the report.
    ///
    /// # Errors
    ///
    /// [`AdmitError`] if the server is at capacity or shutting down; the
    /// client is sent the error first.
    pub async fn serve_connection<R, W>(&self, reader: R, mut writer: W) -> Result<ShutdownReport, AdmitError>
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let core = &self.shared.core;
        let (session, outbox) = match core.admit().and_then(|permit| core.register(permit)) {
            Ok(admitted) => admitted,
            Err(error) => {
                let _ = writer.write_all(&rejection_frame(&error)).await;
                let _ = writer.flush().await;
                return Err(error);
            }
        };
        let mut sessions = JoinSet::new();
        let shared = Arc::clone(&self.shared);
        sessions.spawn(session::run(shared, session, outbox, reader, writer));
        let shutdown = core.shutdown_token();
        let mut closed = 0;
        tokio::select! {
            () = shutdown.cancelled() => {}
            Some(done) = sessions.join_next() => closed += count_clean(&done),
        }
        // The connection ended (or shutdown began): the server is done.
        core.shutdown();
        Ok(self.drain(sessions, closed).await)
    }

    /// Waits up to the grace period for the sessions, aborts the rest, and
    /// waits for the core's drain.
    async fn drain(&self, mut sessions: JoinSet<QuitReason>, mut closed: u64) -> ShutdownReport {
        // tokio's clock, so that tests with paused time see virtual time.
        let started = tokio::time::Instant::now();
        let core = &self.shared.core;
        let deadline = tokio::time::Instant::now() + self.shared.config.shutdown_grace;
        let mut aborted = 0u64;
        loop {
            tokio::select! {
                done = sessions.join_next() => match done {
                    Some(done) => closed += count_clean(&done),
                    None => break,
                },
                () = tokio::time::sleep_until(deadline) => {
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

fn count_clean(done: &Result<QuitReason, JoinError>) -> u64 {
    match done {
        Ok(_) => 1,
        Err(e) => {
            tracing::error!(error = %e, "session task failed");
            1
        }
    }
}

fn rejection_frame(error: &AdmitError) -> Vec<u8> {
    let body = match error {
        AdmitError::AtCapacity { limit } => ErrorObject::new(SERVER_AT_CAPACITY, error.to_string())
            .with_data(serde_json::json!({"maxSessions": limit})),
        _ => ErrorObject::new(SERVER_AT_CAPACITY, error.to_string()),
    };
    let mut frame = encode_error(None, &body).to_vec();
    frame.push(b'\n');
    frame
}

/// Tells a refused client why, then closes the connection without resetting
/// it: the client's own input is read and discarded for a moment, so the
/// close does not turn into a reset that would destroy the error in flight.
async fn reject(mut stream: TcpStream, frame: Vec<u8>) {
    let linger = async {
        stream.write_all(&frame).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        let mut drained = 0;
        while drained < REJECT_DRAIN_BYTES {
            match stream.read(&mut sink).await? {
                0 => break,
                n => drained += n,
            }
        }
        Ok::<_, io::Error>(())
    };
    let _ = tokio::time::timeout(REJECT_LINGER, linger).await;
}
