//! A bound on a connection's stalled writes (`ServerConfig::write_stall_timeout`),
//! for TCP line sessions and HTTP connections.
//!
//! A client that stops reading (or vanished while the server never heard
//! of it: a reset lost on the way, a host gone off the network) leaves
//! the server's writes waiting on a full socket buffer. Nothing else ends
//! such a connection: its request may have ended long ago, its session
//! expired, and it still holds a connection permit. [`StallGuard`] wraps
//! the connection's stream: a write (or flush, or shutdown) that has made
//! no progress for the limit fails with `TimedOut`, the session (or
//! hyper's connection) ends, and what it carried is dropped (which cancels a request
//! still running). Any progress starts the wait again, so a slow reader is
//! never cut; the timer is made on the first stall and kept.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::metrics::{Metrics, incr};
use crate::sync::Arc;

/// A stream whose writes fail once they have waited `limit` with no
/// progress.
pub(crate) struct StallGuard<T> {
    inner: T,
    limit: Duration,
    /// Made on the first stall; armed while a write waits.
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
    metrics: Arc<Metrics>,
}

impl<T> StallGuard<T> {
    pub(crate) fn new(inner: T, limit: Duration, metrics: Arc<Metrics>) -> Self {
        Self {
            inner,
            limit,
            timer: None,
            armed: false,
            metrics,
        }
    }

    /// What a write that returned `poll` becomes: progress disarms the
    /// timer; a wait arms it (once), and fails once it has run out.
    fn guard<R>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if poll.is_ready() {
            self.armed = false;
            return poll;
        }
        let deadline = Instant::now() + self.limit;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.armed {
            timer.as_mut().reset(deadline);
            self.armed = true;
        }
        ready!(timer.as_mut().poll(cx));
        self.armed = false;
        incr(&self.metrics.write_stalls);
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no write progress for {} ms", self.limit.as_millis()),
        )))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.guard(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.guard(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_flush(cx);
        self.guard(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let poll = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.guard(cx, poll)
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_write_with_no_progress_fails_after_the_limit_and_progress_restarts_the_wait() {
        let metrics: Arc<Metrics> = Arc::default();
        // A pipe of 16 bytes whose reader reads only when told.
        let (near, mut far) = tokio::io::duplex(16);
        let mut guarded = StallGuard::new(near, Duration::from_secs(5), Arc::clone(&metrics));
        guarded.write_all(&[0; 16]).await.expect("room for 16 bytes");
        let stalled = tokio::spawn(async move {
            let started = Instant::now();
            let result = guarded.write_all(&[1; 8]).await;
            (result, started.elapsed(), guarded)
        });
        // Progress after 4 s: the wait starts again.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let mut eight = [0; 8];
        tokio::io::AsyncReadExt::read_exact(&mut far, &mut eight)
            .await
            .unwrap();
        let (result, took, mut guarded) = stalled.await.unwrap();
        assert!(result.is_ok(), "a slow reader is not cut");
        assert_eq!(took, Duration::from_secs(4));
        assert_eq!(metrics.snapshot().write_stalls, 0);
        // The next stall of the same stream waits its own full limit.
        tokio::time::sleep(Duration::from_secs(30)).await;
        let mut sixteen = [0; 16];
        tokio::io::AsyncReadExt::read_exact(&mut far, &mut sixteen)
            .await
            .unwrap();
        guarded
            .write_all(&[2; 16])
            .await
            .expect("room for 16 bytes again");
        let started = Instant::now();
        let error = guarded.write_all(&[3; 8]).await.expect_err("nobody reads now");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(5),
            "a fresh wait, not the old deadline"
        );
        assert_eq!(metrics.snapshot().write_stalls, 1);
        drop(far);
    }
}
