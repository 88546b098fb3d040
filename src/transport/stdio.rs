//! Serving one client over a reader and a writer (stdin and stdout, or any
//! stream pair) as a line session.
//!
//! [`Server::serve_stdio`] reads and writes the process's own stdin and
//! stdout on the reactor when they are pipes or sockets (see
//! `stdio_fds.rs`).

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::task::JoinSet;
use tracing::Instrument;

use super::line::{self, rejection_frame};
use super::stdio_fds;
use crate::error::AdmitError;
use crate::server::ops::drain::count_clean;
use crate::server::{Server, ShutdownReport};
use crate::sync::Arc;

impl Server {
    /// Serves one client over this process's stdin and stdout until it
    /// disconnects or [`crate::ServerHandle::shutdown`] is called, then
    /// returns the report. Pipes and sockets are read and written
    /// non-blocking on tokio's reactor (no thread hand-off per message) and
    /// get their original flags back at the end; anything else (a file, a
    /// terminal) goes through tokio's blocking `stdin()` / `stdout()`.
    ///
    /// # Errors
    ///
    /// As [`Server::serve_connection`].
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime with I/O enabled.
    pub async fn serve_stdio(&self) -> Result<ShutdownReport, AdmitError> {
        let (input, output, restore) = stdio_fds::open();
        let report = self.serve_connection(input, output).await;
        drop(restore);
        report
    }

    /// Serves one client over a reader and a writer (stdio, or any stream
    /// pair) until it disconnects or [`crate::ServerHandle::shutdown`] is
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
        // No handshake timeout: a stdio client started this process.
        let span = tracing::debug_span!("session", id = %session.id(), transport = "stdio");
        sessions.spawn(line::run(shared, session, outbox, reader, writer, None).instrument(span));
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
}
