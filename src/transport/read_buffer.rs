//! A line session's read buffer that it holds only while it has unread
//! bytes.
//!
//! Every idle session used to keep a read buffer of its own (2 KiB) for as
//! long as it lived. [`PooledReader`] takes a buffer when it reads and gives
//! it back as soon as everything read from it has been consumed, or when
//! the read finds nothing yet: an idle session holds none. The buffers
//! wait in a small pool per runtime thread ([`POOL_BUFFERS`] at most), so a
//! busy session takes one without a call to the allocator.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncBufRead, AsyncRead, ReadBuf};

/// Buffers kept per thread for the next read; more are freed.
const POOL_BUFFERS: usize = 64;

thread_local! {
    /// Buffers given back, ready for the next read on this thread.
    static POOL: RefCell<Vec<Box<[u8]>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of `size` bytes: one from this thread's pool, or a new one.
fn take(size: usize) -> Box<[u8]> {
    POOL.with_borrow_mut(|pool| pool.pop())
        .filter(|buf| buf.len() == size)
        .unwrap_or_else(|| vec![0; size].into_boxed_slice())
}

/// Gives `buf` back to this thread's pool (or frees it when the pool is full).
fn give_back(buf: Box<[u8]>) {
    POOL.with_borrow_mut(|pool| {
        if pool.len() < POOL_BUFFERS {
            pool.push(buf);
        }
    });
}

/// Buffers reads from `R` in a buffer of `size` bytes held only while it
/// has bytes not yet consumed.
#[derive(Debug)]
pub(crate) struct PooledReader<R> {
    inner: R,
    size: usize,
    /// The buffer, while it holds unconsumed bytes `pos..filled`.
    buf: Option<Box<[u8]>>,
    pos: usize,
    filled: usize,
}

impl<R> PooledReader<R> {
    /// True when the bytes read and not yet consumed hold a whole line (the
    /// next line needs no call to the operating system).
    pub(crate) fn has_whole_line(&self) -> bool {
        self.buf
            .as_deref()
            .is_some_and(|buf| buf[self.pos..self.filled].contains(&b'\n'))
    }

    /// Reads `inner` through buffers of `size` bytes (at least 1).
    pub(crate) fn new(inner: R, size: usize) -> Self {
        Self {
            inner,
            size: size.max(1),
            buf: None,
            pos: 0,
            filled: 0,
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for PooledReader<R> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(buf) = this.buf.as_deref() else {
            // Nothing buffered: read straight into the caller's buffer.
            return Pin::new(&mut this.inner).poll_read(cx, out);
        };
        let n = out.remaining().min(this.filled - this.pos);
        out.put_slice(&buf[this.pos..this.pos + n]);
        Pin::new(this).consume(n);
        Poll::Ready(Ok(()))
    }
}

impl<R: AsyncRead + Unpin> AsyncBufRead for PooledReader<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if this.buf.is_none() {
            let mut buf = take(this.size);
            let mut read = ReadBuf::new(&mut buf);
            match Pin::new(&mut this.inner).poll_read(cx, &mut read) {
                Poll::Ready(Ok(())) => {
                    let n = read.filled().len();
                    if n == 0 {
                        // The end of the input: nothing to hold.
                        give_back(buf);
                        return Poll::Ready(Ok(&[]));
                    }
                    (this.pos, this.filled) = (0, n);
                    this.buf = Some(buf);
                }
                Poll::Ready(Err(e)) => {
                    give_back(buf);
                    return Poll::Ready(Err(e));
                }
                Poll::Pending => {
                    // Nothing read: the buffer goes back while we wait.
                    give_back(buf);
                    return Poll::Pending;
                }
            }
        }
        let buf = this.buf.as_deref().expect("filled above");
        Poll::Ready(Ok(&buf[this.pos..this.filled]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        this.pos = (this.pos + amt).min(this.filled);
        if this.pos == this.filled
            && let Some(buf) = this.buf.take()
        {
            give_back(buf);
        }
    }
}

impl<R> Drop for PooledReader<R> {
    fn drop(&mut self) {
        if let Some(buf) = self.buf.take() {
            give_back(buf);
        }
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;
    use tokio::io::AsyncBufReadExt;

    #[tokio::test]
    async fn holds_a_buffer_only_while_bytes_wait() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut reader = PooledReader::new(server, 8);
        use tokio::io::AsyncWriteExt;
        client.write_all(b"hello world").await.unwrap();
        let first = reader.fill_buf().await.unwrap().to_vec();
        assert_eq!(first, b"hello wo");
        assert!(reader.buf.is_some(), "bytes wait in the buffer");
        reader.consume(3);
        assert!(reader.buf.is_some());
        reader.consume(5);
        assert!(reader.buf.is_none(), "all consumed: the buffer went back");
        assert_eq!(reader.fill_buf().await.unwrap(), b"rld");
        reader.consume(3);
        // Nothing to read: pending, holding nothing.
        let waiting = futures_util::FutureExt::now_or_never(reader.fill_buf());
        assert!(waiting.is_none());
        assert!(reader.buf.is_none(), "an idle reader holds no buffer");
        drop(client);
        assert_eq!(reader.fill_buf().await.unwrap(), b"");
    }

    #[tokio::test]
    async fn plain_reads_take_what_is_buffered_first() {
        use tokio::io::AsyncReadExt;
        let mut reader = PooledReader::new(&b"abcdef"[..], 4);
        assert_eq!(reader.fill_buf().await.unwrap(), b"abcd");
        reader.consume(1);
        let mut out = [0u8; 8];
        assert_eq!(reader.read(&mut out).await.unwrap(), 3);
        assert_eq!(&out[..3], b"bcd");
        assert!(reader.buf.is_none());
        assert_eq!(reader.read(&mut out).await.unwrap(), 2);
        assert_eq!(&out[..2], b"ef");
    }

    #[test]
    fn the_pool_reuses_buffers_and_stays_bounded() {
        let a = take(16);
        let address = a.as_ptr();
        give_back(a);
        let b = take(16);
        assert_eq!(b.as_ptr(), address, "the same buffer again");
        give_back(b);
        for _ in 0..POOL_BUFFERS + 10 {
            give_back(vec![0; 16].into_boxed_slice());
        }
        assert_eq!(POOL.with_borrow(Vec::len), POOL_BUFFERS);
        // A buffer of another size is not handed out.
        assert_eq!(take(32).len(), 32);
    }
}
