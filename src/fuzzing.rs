//! Entry points for the fuzz targets in `fuzz/` (built only with
//! `--cfg fuzzing`, which cargo-fuzz sets): thin wrappers that reach the
//! crate-private decoders without making them part of the public API.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use tokio::io::{AsyncRead, ReadBuf};

use crate::core::Envelope;
use crate::sync::Arc;
use crate::transport::framing::{Frame, LineReader};
use crate::transport::read_buffer::PooledReader;

/// A runtime of one thread on paused time: timers (a `sleep` tool, a
/// timeout) pass at once when nothing else can run.
fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime")
}

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
    let mut lines = LineReader::new(PooledReader::new(reader, buffer), max);
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
    crate::server::api::catalog::resources::template_vars(template, uri)
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
    use crate::server::engine::session::{Route, SessionState};

    let runtime = paused_runtime();
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

/// The bytes an HTTP request's SSE stream numbered `stream` writes for
/// `frames` (each queued as a notification, the last as the request's
/// answer when `answer_last`), with a priming event first when `priming`,
/// until it ends. At most 256 frames are queued.
pub fn sse_stream(frames: &[Vec<u8>], stream: u64, priming: bool, answer_last: bool) -> Vec<u8> {
    let frames: Vec<bytes::Bytes> = frames
        .iter()
        .take(256)
        .map(|f| bytes::Bytes::copy_from_slice(f))
        .collect();
    let runtime = paused_runtime();
    runtime.block_on(async {
        let core = crate::core::Core::new(&crate::ServerConfig::default().outbox_capacity(256));
        crate::transport::http::sse_events(&core, &frames, stream, priming, answer_last)
            .await
            .concat()
    })
}

/// The `initialize` the HTTP target's session starts with.
const HTTP_INITIALIZE: &[u8] = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n\
Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
Content-Length: 146\r\n\r\n\
{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"f\",\"version\":\"0\"}}}";

/// What a client reads back when it sends `input` (raw HTTP/1.1, one or
/// more pipelined requests) on one connection to a server with the
/// built-in tools, a 4 KiB body limit and short timeouts, on paused time.
/// A 2025 session is opened first; every `@SID@` in `input` is replaced by
/// its `Mcp-Session-Id`. The client reads until the server closes the
/// connection or is silent for a minute; then the server shuts down (which
/// ends any stream) and the rest is read.
///
/// # Panics
///
/// If the session cannot be opened.
pub fn http_exchange(input: &[u8]) -> Vec<u8> {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let runtime = paused_runtime();
    runtime.block_on(async {
        let config = crate::ServerConfig::default()
            .request_timeout(Duration::from_secs(5))
            .http(
                crate::config::HttpConfig::default()
                    .max_body_bytes(4096)
                    .header_read_timeout(Duration::from_secs(1))
                    .body_read_timeout(Duration::from_secs(1))
                    .session_idle_timeout(Duration::from_secs(30)),
            );
        let server = crate::server::Server::builder()
            .config(config)
            .builtin_tools()
            .build();

        // Open the session the input may name.
        let (mut client, io) = tokio::io::duplex(1 << 16);
        let opening = tokio::spawn({
            let server = server.clone();
            async move { crate::transport::http::serve_io(&server, None, io).await }
        });
        client.write_all(HTTP_INITIALIZE).await.expect("write to memory");
        let mut head = Vec::new();
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = client.read_buf(&mut head).await.expect("read from memory");
            assert!(n > 0, "the server answered initialize");
        }
        let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let sid = text
            .lines()
            .find_map(|l| l.strip_prefix("mcp-session-id: "))
            .expect("a session id")
            .trim()
            .to_owned();
        drop(client);
        let http = opening.await.expect("the first connection ended");

        let input = replace_all(input, b"@SID@", sid.as_bytes());
        let (mut client, io) = tokio::io::duplex(1 << 20);
        let conn = tokio::spawn({
            let server = server.clone();
            async move { crate::transport::http::serve_io(&server, Some(http), io).await }
        });
        let _ = client.write_all(&input).await;
        let mut out = Vec::new();
        // Until the server closes, falls silent for 20 s, or 60 s have
        // passed (a listen stream keeps alive every 15 s).
        let mut read_until_quiet = async |out: &mut Vec<u8>, quiet: Duration, most: Duration| {
            let deadline = tokio::time::Instant::now() + most;
            while let Ok(Ok(Ok(n))) =
                tokio::time::timeout_at(deadline, tokio::time::timeout(quiet, client.read_buf(out))).await
            {
                if n == 0 {
                    break;
                }
            }
        };
        read_until_quiet(&mut out, Duration::from_secs(20), Duration::from_secs(60)).await;
        server.handle().shutdown();
        read_until_quiet(&mut out, Duration::from_secs(10), Duration::from_secs(10)).await;
        conn.abort();
        out
    })
}

/// `haystack` with every `needle` replaced by `with`.
fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with);
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// Panics unless the fast reader of plain lines, where it takes `line`,
/// reads what the general reader reads (`protocol::fast_path`).
pub fn fast_path_agrees(line: &[u8]) {
    let Ok(text) = std::str::from_utf8(line) else {
        return;
    };
    if let Some(fast) = crate::protocol::fast_path::parse(text) {
        assert_eq!(Ok(fast), crate::protocol::jsonrpc::parse_general(text), "{text}");
    }
}

/// One request's `Authorization` values and URI query through the bearer
/// parser, the token's inspection (header, algorithm, issuer) and the
/// challenge that would refuse it; what the credential was (`missing`,
/// `bad request`, `malformed`, `bearer`).
///
/// # Panics
///
/// If a bearer token is out of bounds, inspection asks for the network,
/// or a challenge is not a valid header value.
#[cfg(feature = "auth")]
pub fn authorization(values: &[Vec<u8>], query: Option<&str>) -> &'static str {
    crate::auth::fuzzing::authorization(values, query)
}

/// Any JSON read as a token's claims.
///
/// # Panics
///
/// If a caller read from them does not keep them whole.
#[cfg(feature = "auth")]
pub fn auth_claims(claims: &[u8]) {
    crate::auth::fuzzing::claims(claims);
}

/// The skill made of `files` at `path` ([`crate::Skill::new`]), as the
/// entry `skills/list` gives for it; `Err` with the refusal's text.
///
/// # Errors
///
/// The skill was refused (its path, files, frontmatter or name).
pub fn skill_entry(path: &str, files: Vec<(String, Vec<u8>)>) -> Result<serde_json::Value, String> {
    crate::server::Skill::new(path, files)
        .map(|skill| skill.entry().clone())
        .map_err(|refused| refused.to_string())
}
