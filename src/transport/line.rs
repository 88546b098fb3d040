//! The driver of a session on a byte stream (stdio, TCP): one JSON-RPC
//! message per line in, the session's outbox written out in batches.
//!
//! One task per session runs a `select!` over the session's token, its
//! outbox, its finished requests and its inbound lines. At the in-flight cap
//! it stops reading, so the client's TCP window fills and it is pushed back
//! instead of memory growing (calls waiting for the client's answer to a
//! request of the server's do not count: the answer may come behind other
//! lines); while a batch is being written it reads nothing either. Every
//! branch of the `select!` is cancel-safe (see each one).
//!
//! The answers a line's request gives at once (most calls finish on their
//! first poll) are not queued: the session holds them (`session::held`)
//! while nothing is queued ahead of them, and this loop writes them as soon
//! as no whole line is left to read, so answers to lines read together go
//! out in one write, and a lone call's answer goes out without a trip
//! through the outbox or another turn of the loop.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::framing::{Frame, LineReader};
use super::read_buffer::PooledReader;
use crate::core::{Core, Envelope, OutboxReceiver, Session};
use crate::error::AdmitError;
use crate::metrics::incr;
use crate::protocol::jsonrpc::{ErrorObject, SERVER_AT_CAPACITY, encode_error};
use crate::server::Shared;
use crate::server::engine::session::{Finished, Route, SessionState};
use crate::sync::{Arc, CancellationToken, mutant, sleep};

/// Most messages written with one `write`.
const WRITE_BATCH: usize = 64;
/// Read buffer of a session, in bytes, held only while it has unread bytes
/// (see `read_buffer`); a longer line is assembled across reads by the
/// `LineReader`. There is no write buffer to keep: a lone message is
/// written from its frame, and a batch is assembled in a buffer that lives
/// only while it is written.
const READ_BUFFER_BYTES: usize = 2 * 1024;

/// Why a session loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QuitReason {
    /// The server is shutting down.
    Shutdown,
    /// The session's token was cancelled (the `Disconnect` full policy).
    Cancelled,
    /// The client closed its side of the connection.
    ClientClosed,
    /// Reading from the client failed.
    ReadFailed,
    /// Writing to the client failed.
    WriteFailed,
    /// The client sent no `initialize` (nor a 2026-07-28 request) within
    /// the handshake timeout.
    HandshakeTimedOut,
}

enum Event {
    Cancelled,
    /// Something changed what `can_read` says; look again.
    Recheck,
    Outgoing(Envelope),
    Finished(Finished),
    Inbound(io::Result<Frame>),
    HandshakeTimedOut,
    /// Nothing else to do now: write the answers held.
    WriteHeld,
}

/// Runs one session until it ends, then flushes what it can. With a
/// `handshake` timeout (TCP), a client that has sent neither `initialize`
/// nor a 2026-07-28 request by then is disconnected.
pub(crate) async fn run<R, W>(
    shared: Arc<Shared>,
    session: Session,
    outbox: OutboxReceiver,
    reader: R,
    writer: W,
    handshake: Option<Duration>,
) -> QuitReason
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let max_frame = shared.config.max_frame_bytes;
    let mut state = SessionState::new(shared, session);
    let mut lines = LineReader::new(PooledReader::new(reader, READ_BUFFER_BYTES), max_frame);
    let mut writer = writer;
    let mut outbox = outbox;
    let mut unwritten = Unwritten::default();
    let reason = serve(
        &mut state,
        &mut lines,
        &mut writer,
        &mut outbox,
        handshake,
        &mut unwritten,
    )
    .await;
    finish(&mut state, reason, &mut writer, &mut outbox, unwritten).await;
    tracing::debug!(session = %state.session().id(), ?reason, "session ended");
    reason
}

async fn serve<R, W>(
    state: &mut SessionState,
    lines: &mut LineReader<PooledReader<R>>,
    writer: &mut W,
    outbox: &mut OutboxReceiver,
    handshake: Option<Duration>,
    unwritten: &mut Unwritten,
) -> QuitReason
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    // A real timer, armed once; its branch is off once the client engages
    // (or when there is no limit).
    let handshake_deadline = sleep(handshake.unwrap_or(Duration::ZERO));
    tokio::pin!(handshake_deadline);
    let token = state.session().token().clone();
    // Made once: registering a new waiter on every turn of the loop costs
    // more than polling this one again.
    let cancelled = token.cancelled();
    tokio::pin!(cancelled);
    let client_waits = state.pending();
    loop {
        let can_read = state.can_read();
        let event = tokio::select! {
            biased;
            // Cancel-safe: only waits (and is polled again next turn).
            () = &mut cancelled => Event::Cancelled,
            // Cancel-safe: mpsc::Receiver::recv never loses a message.
            Some(envelope) = outbox.recv() => Event::Outgoing(envelope),
            // Cancel-safe: join_next leaves unfinished tasks in the set.
            done = state.next_finished() => Event::Finished(done),
            // Only needed while reading is paused: a call that starts
            // waiting for the client can only make `can_read` true.
            // Cancel-safe: only waits (a stored permit survives a drop; a
            // stale one costs one extra turn).
            () = client_waits.changed(), if !can_read => Event::Recheck,
            // Cancel-safe: LineReader keeps partial lines in itself.
            frame = lines.next(), if can_read => Event::Inbound(frame),
            // Cancel-safe: a sleep is polled again next turn.
            () = &mut handshake_deadline,
                if handshake.is_some() && (!state.engaged() || mutant("engagement_ignored")) => Event::HandshakeTimedOut,
            // Last: answers held for a next line that did not come at once
            // (a blank one, say) go out before the loop waits.
            () = std::future::ready(()), if state.has_held() => Event::WriteHeld,
        };
        // What to write now, if anything.
        let batch = match event {
            Event::Cancelled => {
                return if state.shared().core.is_shutting_down() {
                    QuitReason::Shutdown
                } else {
                    QuitReason::Cancelled
                };
            }
            // What is held was answered before anything was queued.
            Event::Outgoing(queued) => Some(match state.take_held() {
                Some((first, mut rest)) => {
                    rest.push(queued);
                    (first, rest)
                }
                None => (queued, Vec::new()),
            }),
            Event::HandshakeTimedOut => {
                incr(&state.shared().core.metrics_ref().handshake_timeouts);
                tracing::debug!(session = %state.session().id(), "no initialize within the handshake timeout");
                return QuitReason::HandshakeTimedOut;
            }
            Event::Finished(done) => {
                state.on_finished(done);
                None
            }
            Event::WriteHeld => state.take_held(),
            Event::Recheck => None,
            // Written through: what the line's request answered at once
            // is held, not queued, and goes out when no whole line is left
            // to read (answers to lines read together go out together),
            // without a trip through the outbox and a turn of the loop.
            Event::Inbound(Ok(Frame::Line(line))) if !token.is_cancelled() => {
                state.on_message_written_through(&line);
                if lines.get_ref().has_whole_line() && state.can_read() {
                    continue;
                }
                state.take_held()
            }
            Event::Inbound(Ok(Frame::Line(line))) => {
                state.on_message(&line, &Route::Session);
                None
            }
            Event::Inbound(Ok(Frame::TooLong { len })) => {
                state.on_too_long(len, &Route::Session);
                None
            }
            Event::Inbound(Ok(Frame::Eof)) => return QuitReason::ClientClosed,
            Event::Inbound(Err(e)) => {
                tracing::debug!(session = %state.session().id(), error = %e, "read failed");
                return QuitReason::ReadFailed;
            }
        };
        if let Some(batch) = batch
            && let Err(e) = write_unless_cancelled(
                (&token, cancelled.as_mut()),
                &state.shared().core,
                (writer, outbox),
                batch,
                unwritten,
            )
            .await
        {
            tracing::debug!(session = %state.session().id(), error = %e, "write failed");
            return QuitReason::WriteFailed;
        }
    }
}

/// Messages to write at once: the first, and the others in order.
type Batch = (Envelope, Vec<Envelope>);

/// What the session's cancellation left of a write it came upon.
#[derive(Default)]
struct Unwritten {
    /// A batch the cancellation came before: not a byte of it written, so
    /// a flush that follows writes it first, and the client sees no gap.
    batch: Option<Batch>,
    /// A batch a disconnect cut mid-write: the client may hold part of a
    /// line, so nothing may follow it.
    cut: bool,
}

/// Cancels every request, then writes what is left, in order (bounded by
/// the shutdown grace), and closes the write side.
async fn finish<W: AsyncWrite + Unpin>(
    state: &mut SessionState,
    reason: QuitReason,
    writer: &mut W,
    outbox: &mut OutboxReceiver,
    mut unwritten: Unwritten,
) {
    state.end_requests().await;
    outbox.close();
    let held = state.take_held().filter(|_| !mutant("held_answers_not_flushed"));
    if matches!(reason, QuitReason::Shutdown | QuitReason::ClientClosed) && !unwritten.cut {
        let flush = async {
            for batch in unwritten.batch.take().into_iter().chain(held) {
                write_batch(writer, batch, outbox).await?;
            }
            while let Some(envelope) = outbox.try_recv() {
                write_batch(writer, (envelope, Vec::new()), outbox).await?;
            }
            writer.shutdown().await
        };
        let _ = crate::sync::timeout(state.shared().config.shutdown_grace, flush).await;
    }
    // Whatever is still queued is counted as dropped when `outbox` drops.
}

/// Writes as [`write_batch`] does, unless the session's token is cancelled:
/// before a byte is written, the batch is left whole in `unwritten` (the
/// shutdown flush writes it first); mid-write at shutdown, the write goes
/// on (the drain bounds it by the grace); mid-write on a disconnect, it
/// stops, the batch counts as dropped and the write is marked cut.
async fn write_unless_cancelled<W: AsyncWrite + Unpin>(
    (token, cancelled): (&CancellationToken, Pin<&mut impl Future<Output = ()>>),
    core: &Core,
    (writer, outbox): (&mut W, &mut OutboxReceiver),
    batch: Batch,
    unwritten: &mut Unwritten,
) -> io::Result<()> {
    // A load, not a poll of `cancelled` (which would swap its waker twice).
    if token.is_cancelled() {
        // The known-bad variant drops it, as this did before.
        if !mutant("cancelled_batch_dropped") {
            unwritten.batch = Some(batch);
        }
        return Ok(());
    }
    let write = write_batch(writer, batch, outbox);
    tokio::pin!(write);
    tokio::select! {
        biased;
        () = cancelled => {}
        written = &mut write => return written,
    }
    if core.is_shutting_down() {
        return write.await;
    }
    unwritten.cut = true;
    Ok(())
}

/// Writes `first`, `rest` and whatever else is queued (up to
/// [`WRITE_BATCH`] in all, or all of `first` and `rest`) with one write,
/// then flushes. Messages count as sent only once written; if the future
/// fails or is dropped, the unsent ones count as dropped.
async fn write_batch<W: AsyncWrite + Unpin>(
    writer: &mut W,
    (first, mut rest): Batch,
    outbox: &mut OutboxReceiver,
) -> io::Result<()> {
    // `rest` is allocated only when more than one message is waiting.
    while rest.len() + 1 < WRITE_BATCH {
        match outbox.try_recv() {
            Some(envelope) => rest.push(envelope),
            None => break,
        }
    }
    if rest.is_empty() {
        // The common case: one message, written from its frame as it is.
        let mut slices = [IoSlice::new(first.frame()), IoSlice::new(b"\n")];
        write_all_vectored(writer, &mut slices).await?;
    } else {
        let frames = || std::iter::once(&first).chain(&rest).map(Envelope::frame);
        let mut bytes = Vec::with_capacity(frames().map(|f| f.len() + 1).sum());
        for frame in frames() {
            bytes.extend_from_slice(frame);
            bytes.push(b'\n');
        }
        writer.write_all(&bytes).await?;
    }
    writer.flush().await?;
    first.delivered();
    rest.into_iter().for_each(Envelope::delivered);
    Ok(())
}

/// Writes all of `slices`, with as few writes as the writer allows.
async fn write_all_vectored<W: AsyncWrite + Unpin>(
    writer: &mut W,
    mut slices: &mut [IoSlice<'_>],
) -> io::Result<()> {
    while !slices.is_empty() {
        let written = writer.write_vectored(slices).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut slices, written);
    }
    Ok(())
}

/// The line that tells a refused client why, newline included.
pub(crate) fn rejection_frame(error: &AdmitError) -> Vec<u8> {
    let body = match error {
        AdmitError::AtCapacity { limit } => ErrorObject::new(SERVER_AT_CAPACITY, error.to_string())
            .with_data(serde_json::json!({"maxSessions": limit})),
        _ => ErrorObject::new(SERVER_AT_CAPACITY, error.to_string()),
    };
    let mut frame = encode_error(None, &body).to_vec();
    frame.push(b'\n');
    frame
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;

    /// Takes at most three bytes of the first slice per write, like a
    /// socket whose buffer is nearly full.
    #[derive(Default)]
    struct Trickle(Vec<u8>);

    impl AsyncWrite for Trickle {
        fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
            let n = buf.len().min(3);
            self.0.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn vectored_writes_finish_whatever_each_write_takes() {
        let mut writer = Trickle::default();
        let mut slices = [IoSlice::new(b"{\"a\":1}"), IoSlice::new(b""), IoSlice::new(b"\n")];
        write_all_vectored(&mut writer, &mut slices).await.unwrap();
        assert_eq!(writer.0, b"{\"a\":1}\n");
    }
}
