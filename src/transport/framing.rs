//! Line framing: one JSON-RPC message per line, as the MCP stdio transport
//! defines it (and as our TCP transport uses too).
//!
//! A line longer than the limit is reported and skipped *without* being
//! buffered whole: once it passes the limit the reader discards bytes until
//! the next newline, so a client cannot make the server allocate more than
//! `max_frame_bytes` per connection.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// What the reader found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// One line, without its newline (and without a trailing `\r`).
    Line(Vec<u8>),
    /// A line over the limit, skipped; `len` bytes were discarded.
    TooLong {
        /// Bytes discarded (the line's length).
        len: usize,
    },
    /// The peer closed its side.
    Eof,
}

/// Reads newline-delimited frames with a size limit.
#[derive(Debug)]
pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    max: usize,
    /// Some(n): inside an oversized line, n bytes discarded so far.
    discarding: Option<usize>,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// A reader of lines up to `max` bytes.
    pub(crate) fn new(inner: R, max: usize) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            max,
            discarding: None,
        }
    }

    /// The reader lines are read from.
    pub(crate) fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The next frame. Empty lines are skipped.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: all progress is kept in `self` between polls, and
    /// `fill_buf` is cancel-safe, so no byte is lost if the future is dropped.
    pub(crate) async fn next(&mut self) -> io::Result<Frame> {
        loop {
            let available = self.inner.fill_buf().await?;
            if available.is_empty() {
                if let Some(len) = self.discarding.take() {
                    return Ok(Frame::TooLong { len });
                }
                // A last line without its newline counts like any other:
                // blank, it is skipped (found by fuzz/line_framing).
                if self.buf.iter().all(u8::is_ascii_whitespace) {
                    self.buf.clear();
                    return Ok(Frame::Eof);
                }
                return Ok(self.take_line());
            }
            let newline = memchr::memchr(b'\n', available);
            let chunk = newline.unwrap_or(available.len());
            let consumed = newline.map_or(chunk, |i| i + 1);
            if let Some(discarded) = self.discarding.as_mut() {
                *discarded += chunk;
            } else if self.buf.len() + chunk > self.max {
                self.discarding = Some(self.buf.len() + chunk);
                self.buf = Vec::new();
            } else {
                self.buf.extend_from_slice(&available[..chunk]);
            }
            self.inner.consume(consumed);
            if newline.is_some() {
                if let Some(len) = self.discarding.take() {
                    return Ok(Frame::TooLong { len });
                }
                if self.buf.iter().all(u8::is_ascii_whitespace) {
                    self.buf.clear();
                    continue;
                }
                return Ok(self.take_line());
            }
        }
    }

    fn take_line(&mut self) -> Frame {
        let mut line = std::mem::take(&mut self.buf);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Frame::Line(line)
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;
    use crate::transport::read_buffer::PooledReader;

    async fn frames(input: &[u8], max: usize, buf_size: usize) -> Vec<Frame> {
        let mut reader = LineReader::new(PooledReader::new(input, buf_size), max);
        let mut out = Vec::new();
        loop {
            let frame = reader.next().await.unwrap();
            if frame == Frame::Eof {
                return out;
            }
            out.push(frame);
        }
    }

    #[tokio::test]
    async fn splits_lines_and_skips_blank_ones() {
        let got = frames(b"a\r\n\n  \nbb\nccc", 10, 2).await;
        assert_eq!(
            got,
            vec![
                Frame::Line(b"a".to_vec()),
                Frame::Line(b"bb".to_vec()),
                Frame::Line(b"ccc".to_vec())
            ]
        );
        // A blank last line without its newline is skipped too.
        assert_eq!(frames(b"a\n \t", 10, 2).await, vec![Frame::Line(b"a".to_vec())]);
    }

    #[tokio::test]
    async fn skips_an_oversized_line_and_goes_on() {
        let mut input = vec![b'x'; 100];
        input.extend_from_slice(b"\nok\n");
        input.extend_from_slice(&[b'y'; 11]);
        let got = frames(&input, 10, 4).await;
        assert_eq!(
            got,
            vec![
                Frame::TooLong { len: 100 },
                Frame::Line(b"ok".to_vec()),
                Frame::TooLong { len: 11 }
            ]
        );
    }

    #[tokio::test]
    async fn a_line_of_exactly_the_limit_is_accepted() {
        let got = frames(b"0123456789\n", 10, 3).await;
        assert_eq!(got, vec![Frame::Line(b"0123456789".to_vec())]);
    }
}
