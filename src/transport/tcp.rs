//! TCP transport: a listener sized for connect storms, accepted sockets
//! tuned for small messages, and the accept loop that turns each admitted
//! connection into a line session.
//!
//! Each admitted connection becomes one task in a `JoinSet`, so the loop can
//! reap finished sessions as it goes and abort stragglers when the grace
//! period runs out. The core's drain then confirms that every session has
//! deregistered and released its permit.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tracing::Instrument;

use super::line::{self, QuitReason, rejection_frame};
use crate::metrics::incr;
use crate::server::drain::count_clean;
use crate::server::{Server, ShutdownReport};
use crate::sync::Arc;

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
                        tune(&stream);
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
                let span = tracing::debug_span!("session", id = %session.id(), transport = "tcp", %peer);
                let run = async move {
                    let (reader, writer) = stream.into_split();
                    let handshake = Some(shared.config.handshake_timeout);
                    line::run(shared, session, outbox, reader, writer, handshake).await
                };
                sessions.spawn(run.instrument(span));
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
}

/// Binds a listener on `addr` with a listen backlog of `backlog`.
///
/// `TcpListener::bind` listens with a backlog of 128; under a burst of
/// connects the overflow waits a full second for a SYN retransmit. The kernel
/// caps the value at `net.core.somaxconn`.
///
/// # Errors
///
/// Any error from creating, binding or listening on the socket.
pub async fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Prepares an accepted socket: `TCP_NODELAY`, so that small responses are
/// not held back by Nagle's algorithm behind delayed acknowledgements
/// (about 40 ms each otherwise).
pub(crate) fn tune(stream: &TcpStream) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "could not set TCP_NODELAY");
    }
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
