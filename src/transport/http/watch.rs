//! Noticing a client that vanished while hyper is not reading.
//!
//! hyper notices a client's end of stream while it answers a request only
//! when nothing else the client sent is waiting in its read buffer. A
//! client that pipelines requests (HTTP/1.1's batch) and goes away leaves
//! the rest in that buffer, so hyper reads no more until the current answer
//! is done: the request it is answering would run to its end or its
//! timeout, holding its permit, for nobody.
//!
//! So hyper gets the socket through [`SharedStream`], and the connection
//! keeps a [`ConnWatch`] on the same socket: while an answer is pending
//! (the service's future, or a streamed body waiting for its next event),
//! [`ConnWatch::vanished`] peeks at the socket without taking anything from
//! it. An end of stream or an error ends the answer: the service answers
//! at once (hyper then fails to write it and closes the connection), and a
//! streamed body ends with an error (hyper aborts the connection). Either
//! way the request's own stream is dropped, which cancels it. When the
//! peek finds bytes instead (the client sent more), there is nothing to
//! learn until hyper reads them, and the watch waits no more for that
//! answer: it never polls in a loop.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::body::Body;
use crate::metrics::{Metrics, incr};
use crate::sync::Arc;

/// A TCP stream hyper reads and writes, shared with a [`ConnWatch`].
#[derive(Debug)]
pub(crate) struct SharedStream(Arc<TcpStream>);

/// Watches a connection's socket for its client's end.
#[derive(Debug, Clone)]
pub(crate) struct ConnWatch(Arc<TcpStream>, Arc<Metrics>);

/// A stream for hyper and a watch on it, counting what it notices in
/// `metrics`.
pub(crate) fn share(stream: TcpStream, metrics: Arc<Metrics>) -> (SharedStream, ConnWatch) {
    let stream = Arc::new(stream);
    (SharedStream(Arc::clone(&stream)), ConnWatch(stream, metrics))
}

impl ConnWatch {
    /// Counts a client noticed gone by the watch.
    pub(crate) fn count_vanished(&self) {
        incr(&self.1.http_clients_vanished);
    }

    /// Resolves when the client has closed the connection (or it failed)
    /// and nothing it sent is waiting unread; pending forever once it has
    /// sent more (see the module docs).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a peek takes nothing from the socket.
    pub(crate) async fn vanished(&self) {
        let mut byte = [0u8; 1];
        match self.0.peek(&mut byte).await {
            Ok(0) | Err(_) => {}
            Ok(_) => std::future::pending().await,
        }
    }
}

impl AsyncRead for SharedStream {
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

impl AsyncWrite for SharedStream {
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

/// A response body that ends with an error when its client vanishes while
/// it waits for its next frame.
pub(crate) struct WatchedBody {
    inner: Body,
    watch: ConnWatch,
    /// Made the first time the body has to wait (a JSON body never does).
    vanished: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl WatchedBody {
    pub(crate) fn new(inner: Body, watch: ConnWatch) -> Self {
        Self {
            inner,
            watch,
            vanished: None,
        }
    }
}

impl HttpBody for WatchedBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(|never| match never {})));
        }
        let watch = this.watch.clone();
        let vanished = this
            .vanished
            .get_or_insert_with(|| Box::pin(async move { watch.vanished().await }));
        match vanished.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.watch.count_vanished();
                Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "the client went away",
                ))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
