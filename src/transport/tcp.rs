//! Line sessions over a listener: TCP (a listener sized for connect storms,
//! accepted sockets tuned for small messages), or any other [`Listener`];
//! each admitted connection becomes a line session.
//!
//! Each admitted connection becomes one task in a `JoinSet`, so the loop can
//! reap finished sessions as it goes and abort stragglers when the grace
//! period runs out. The core's drain then confirms that every session has
//! deregistered and released its permit.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinSet;
use tracing::Instrument;

use super::accept::AcceptLoop;
use super::line::{self, QuitReason, rejection_frame};
use super::listener::{Connection, Listener};
#[cfg(not(shuttle))]
use super::stall::StallGuard;
use crate::server::ops::drain::count_clean;
use crate::server::{Server, ShutdownReport};
use crate::sync::Arc;

/// Most rejected connections being told "at capacity" at once; past this a
/// rejected connection is closed with a best-effort write only.
const MAX_PENDING_REJECTIONS: usize = 1024;
/// How long a rejected connection gets to read its error before it is closed.
const REJECT_LINGER: Duration = Duration::from_secs(1);
/// Bytes of a rejected client's input read (and discarded) while it lingers.
const REJECT_DRAIN_BYTES: usize = 64 * 1024;

impl Server {
    /// Serves MCP over TCP on `listener` until [`crate::ServerHandle::shutdown`]
    /// is called, then drains and returns the report.
    ///
    /// For a listener with a backlog sized for connect storms, bind it with
    /// [`crate::transport::tcp::bind`]. [`Server::serve_lines`] serves the
    /// same over any [`Listener`] (a Unix socket, TLS).
    pub async fn serve_tcp(&self, listener: TcpListener) -> ShutdownReport {
        self.serve_lines_as("tcp", listener).await
    }

    /// Serves MCP as one JSON-RPC message per line on every connection of
    /// `listener` (TCP, a Unix socket, TLS over either, or a listener of
    /// your own) until [`crate::ServerHandle::shutdown`] is called, then
    /// drains and returns the report.
    pub async fn serve_lines<L: Listener>(&self, listener: L) -> ShutdownReport {
        self.serve_lines_as("lines", listener).await
    }

    /// [`Server::serve_lines`], naming the transport `name` in logs and
    /// spans.
    async fn serve_lines_as<L: Listener>(&self, name: &'static str, listener: L) -> ShutdownReport {
        let core = &self.shared.core;
        let shutdown = core.shutdown_token();
        let mut rejections: JoinSet<()> = JoinSet::new();
        let mut closed = 0u64;
        let mut accept = AcceptLoop {
            name,
            shutdown: &shutdown,
            metrics: core.metrics_ref(),
            tasks: JoinSet::new(),
            max_tasks: usize::MAX,
        };
        accept
            .run(
                listener,
                |io, peer, sessions| self.admit_line(name, io, peer, sessions, &mut rejections),
                |done| closed += count_clean(&done),
            )
            .await;
        rejections.abort_all();
        self.drain(accept.tasks, closed).await
    }

    fn admit_line<C: Connection>(
        &self,
        transport: &'static str,
        io: C,
        peer: impl std::fmt::Debug,
        sessions: &mut JoinSet<QuitReason>,
        rejections: &mut JoinSet<()>,
    ) {
        let core = &self.shared.core;
        let admitted = core.admit().and_then(|permit| core.register(permit));
        match admitted {
            Ok((session, outbox)) => {
                tracing::debug!(session = %session.id(), ?peer, "session admitted");
                let shared = Arc::clone(&self.shared);
                let span = tracing::debug_span!("session", id = %session.id(), transport, ?peer);
                let run = async move {
                    let (reader, writer) = io.into_split();
                    // Under shuttle the writer goes bare: the guard's timer is
                    // tokio's, which the model does not keep.
                    #[cfg(not(shuttle))]
                    let writer = StallGuard::new(
                        writer,
                        shared.config.write_stall_timeout,
                        Arc::clone(shared.core.metrics_ref()),
                    );
                    let handshake = Some(shared.config.handshake_timeout);
                    line::run(shared, session, outbox, reader, writer, handshake).await
                };
                sessions.spawn(run.instrument(span));
            }
            Err(error) => {
                tracing::debug!(?peer, %error, "connection refused");
                let frame = rejection_frame(&error);
                // Reap the finished writes (`try_join_next`, which shuttle-tokio lacks).
                while let Some(Some(_)) = futures_util::FutureExt::now_or_never(rejections.join_next()) {}
                if rejections.len() < MAX_PENDING_REJECTIONS {
                    rejections.spawn(reject(io, frame));
                } else {
                    // One write attempt that does not wait.
                    let mut io = io;
                    let _ = futures_util::FutureExt::now_or_never(io.write(&frame));
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

/// Tells a refused client why, then closes the connection without resetting
/// it: the client's own input is read and discarded for a moment, so the
/// close does not turn into a reset that would destroy the error in flight.
async fn reject<C: Connection>(mut stream: C, frame: Vec<u8>) {
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
    let _ = crate::sync::timeout(REJECT_LINGER, linger).await;
}
