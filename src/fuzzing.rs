//! Entry points for the fuzz targets in `fuzz/` (built only with
//! `--cfg fuzzing`, which cargo-fuzz sets): thin wrappers that reach the
//! crate-private decoders without making them part of the public API.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use tokio::io::{AsyncRead, BufReader, ReadBuf};

use crate::core::Envelope;
use crate::sync::Arc;
use crate::transport::framing::{Frame, LineReader};

/// What the line framing made of its input, frame by frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FuzzFrame {
    /// A line, without its newline and trailing `\r`.
    Line(Vec<u8>),
    /// A line over the limit, skipped; its length.
    TooLong(usize),
}

/// A reader that hands out `data` in pieces of the sizes in `sizes`
/// (cycled; 0 is read as 1), always at once.
struct Pieces {
    data: Vec<u8>,
    sizes: Vec<usize>,
    pos: usize,
    turn: usize,
}

impl AsyncRead for Pieces {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let size = self
            .sizes
            .get(self.turn % self.sizes.len().max(1))
            .copied()
            .unwrap_or(1)
            .max(1);
        self.turn += 1;
        let n = size.min(buf.remaining()).min(self.data.len() - self.pos);
        let start = self.pos;
        buf.put_slice(&self.data[start..start + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

/// Frames `data` as a line session reads it, with lines of at most `max`
/// bytes, a read buffer of `buffer` bytes and reads of the sizes in
/// `pieces`, until the end of the input.
///
/// # Panics
///
/// If the framing ever waits (it reads from memory) or fails.
pub fn line_frames(data: &[u8], max: usize, buffer: usize, pieces: &[usize]) -> Vec<FuzzFrame> {
    let reader = Pieces {
        data: data.to_vec(),
        sizes: pieces.to_vec(),
        pos: 0,
        turn: 0,
    };
    let mut lines = LineReader::new(BufReader::with_capacity(buffer.max(1), reader), max);
    let mut out = Vec::new();
    loop {
        let frame = lines
            .next()
            .now_or_never()
            .expect("reading from memory never waits")
            .expect("reading from memory never fails");
        match frame {
            Frame::Line(line) => out.push(FuzzFrame::Line(line)),
            Frame::TooLong { len } => out.push(FuzzFrame::TooLong(len)),
            Frame::Eof => return out,
        }
    }
}

/// The variables of `uri` under the resource template `template`, if it
/// matches (`resources/read` against a `ResourceTemplate`).
pub fn template_matches(template: &str, uri: &str) -> Option<HashMap<String, String>> {
    crate::server::catalog::resources::template_vars(template, uri)
}

/// A `Last-Event-ID` as the HTTP transport reads it: (stream, sequence).
pub fn event_id(id: &str) -> Option<(u64, u64)> {
    crate::transport::http::parse_event_id(id)
}

/// A header value as the HTTP transport reads it (`=?base64?...?=`
/// decoded); `None` if refused.
pub fn header_value(value: &str) -> Option<String> {
    crate::transport::http::decoded_header(value)
}

/// What one session answered to a run of lines.
#[derive(Debug, Default)]
pub struct SessionAnswers {
    /// Every message the session queued for the client, in order.
    pub messages: Vec<serde_json::Value>,
    /// Requests still running when the input ended (listen streams; calls
    /// cancelled by the client). They were then cancelled with the session.
    pub unfinished: usize,
}

/// Feeds `lines` to one stdio/TCP-style session of a server with the
/// built-in tools and the given frame limit, as its line driver would, then
/// runs every call it started to its end (on a runtime with paused time,
/// so timers such as `sleep` and the client-answer timeout pass at once),
/// and returns what the session sent.
///
/// # Panics
///
/// If the session cannot be admitted (it always can: it is the only one).
pub fn one_session(lines: &[&[u8]], max_frame_bytes: usize) -> SessionAnswers {
    use crate::server::Server;
    use crate::server::session::{Route, SessionState};

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let server = Server::builder()
            .config(crate::ServerConfig::default().max_frame_bytes(max_frame_bytes))
            .builtin_tools()
            .build();
        let shared = Arc::clone(&server.shared);
        let (session, mut outbox) = shared
            .core
            .admit()
            .and_then(|permit| shared.core.register(permit))
            .expect("one session is admitted");
        let mut state = SessionState::new(Arc::clone(&shared), session);
        let mut answers = SessionAnswers::default();
        for line in lines {
            if line.len() > max_frame_bytes {
                state.on_too_long(line.len(), &Route::Session);
            } else {
                state.on_message(line, &Route::Session);
            }
            while let Some(envelope) = outbox.try_recv() {
                take(envelope, &mut answers);
            }
        }
        // Run the calls to their end; a call waiting for the outbox is
        // served by draining it. An hour of (paused) time is more than any
        // built-in tool or timeout takes; what runs past it never ends.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3600);
        loop {
            tokio::select! {
                biased;
                Some(envelope) = outbox.recv() => take(envelope, &mut answers),
                done = state.next_finished(), if state.in_flight() > 0 => state.on_finished(done),
                () = tokio::time::sleep_until(deadline) => break,
                else => break,
            }
            if state.in_flight() == 0 {
                break;
            }
        }
        answers.unfinished = state.in_flight() + state.listening();
        state.end_requests().await;
        while let Some(envelope) = outbox.try_recv() {
            take(envelope, &mut answers);
        }
        answers
    })
}

/// Records a message the session queued.
fn take(envelope: Envelope, answers: &mut SessionAnswers) {
    let message = serde_json::from_slice(envelope.frame()).expect("the session sends JSON");
    envelope.delivered();
    answers.messages.push(message);
}
