//! A TCP connection that can be read, written and watched at once.
//!
//! hyper notices a client's end of stream while it answers a request only
//! when nothing else the client sent is waiting in its read buffer. A
//! client that pipelines requests (HTTP/1.1's batch) and goes away leaves
//! the rest in that buffer, so hyper reads no more until the current answer
//! is done: the request it is answering would run to its end or its
//! timeout, holding its permit, for nobody.
//!
//! So a [`TcpConnection`] shares its socket: hyper reads and writes it
//! while a [`PeerWatch`] on the same socket peeks at it without taking
//! anything ([`PeerWatch::vanished`]). A line session splits it into two
//! halves on the same socket, with no lock between them (reads and writes
//! of a TCP socket are independent).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::sync::Arc;

/// An accepted TCP connection (with `TCP_NODELAY` set), shareable between
/// its reader, its writer and a [`PeerWatch`].
#[derive(Debug, Clone)]
pub struct TcpConnection(Arc<TcpStream>);

/// Watches a connection's socket for its peer's end.
#[derive(Debug, Clone)]
pub struct PeerWatch(Arc<TcpStream>);

impl TcpConnection {
    /// Wraps an accepted stream, setting `TCP_NODELAY` so that small
    /// answers are not held back by Nagle's algorithm behind delayed
    /// acknowledgements (about 40 ms each otherwise).
    pub fn new(stream: TcpStream) -> Self {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        Self(Arc::new(stream))
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        self.0.peer_addr()
    }
}

impl PeerWatch {
    /// A watch on `connection`'s socket.
    pub(crate) fn on(connection: &TcpConnection) -> Self {
        Self(Arc::clone(&connection.0))
    }

    /// Resolves when the peer has closed the connection (or it failed) and
    /// nothing it sent is waiting unread; pending forever once it has sent
    /// more (until that is read there is nothing to learn, and the watch
    /// never polls in a loop).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a peek takes nothing from the socket.
    pub async fn vanished(&self) {
        let mut byte = [0u8; 1];
        match self.0.peek(&mut byte).await {
            Ok(0) | Err(_) => {}
            Ok(_) => std::future::pending().await,
        }
    }
}

impl AsyncRead for TcpConnection {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.0.poll_read_ready(cx))?;
            // Into the unfilled part as it is: initializing it first would
            // cost a memset of hyper's whole read buffer per read.
            match self.0.try_read_buf(buf) {
                Ok(_) => return Poll::Ready(Ok(())),
                // The readiness was stale; `try_read` cleared it, so the
                // next `poll_read_ready` waits for the socket.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for TcpConnection {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                done => return Poll::Ready(done),
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_write_vectored(bufs) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                done => return Poll::Ready(done),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Writes go straight to the socket.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(rustix::net::shutdown(&*self.0, rustix::net::Shutdown::Write).map_err(io::Error::from))
    }
}
