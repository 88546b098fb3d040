//! A request's stream followed live on a replica that did not write it.
//!
//! A handler that closes its stream (SEP-1699 polling, `parked.rs`) leaves
//! the rest of it parked on its replica until the client resumes it with
//! `Last-Event-ID`. When that GET lands on another replica (sessions in a
//! store, no affinity), that replica replays what the event store has and,
//! unless the answer is among it, tells the writer
//! ([`SessionEvent::Follow`]) and follows the store:
//!
//! - the writer ([`drain`]) takes the parked stream and writes each of its
//!   events to the session's log (its own and the event store) as they
//!   come, until the answer;
//! - the follower ([`follow`]) reads the stream from the store after the
//!   last event it sent, every [`POLL_MIN`] at first and up to every
//!   [`POLL_MAX`] while nothing new comes, and sends what is new. It ends
//!   after the answer, when the session ends, when the store fails, and
//!   after [`QUIET`] with nothing new: the client resumes it again (it was
//!   told `retry`), on whichever replica.
//!
//! A lost `Follow` (pub/sub keeps nothing) or a writer that died leaves the
//! store's stream as it was: the follower ends after [`QUIET`], and the
//! client's next resumption asks again.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::Http;
use super::body::{Body, event_stream};
use super::entry::HttpSession;
use super::parked::Following;
use super::replay::{Replay, ReplayLog, StreamKind};
use super::sse::Sse;
use super::stored::STORE_WAIT;
use crate::metrics::{Metrics, incr};
use crate::server::store::SessionEvent;
use crate::sync::{Arc, CancellationToken, Ordering};

/// The first wait between two reads of a followed stream.
pub(crate) const POLL_MIN: Duration = Duration::from_millis(50);
/// The longest wait between two reads of a followed stream.
pub(crate) const POLL_MAX: Duration = Duration::from_secs(1);
/// A followed stream with nothing new for this long ends.
pub(crate) const QUIET: Duration = Duration::from_secs(10);

/// The writer's side: if `entry`'s request stream `stream` is parked here,
/// writes the rest of it to the session's log, in a task, until its answer
/// (or the session's end). False if it is not parked here.
pub(super) fn drain(entry: &HttpSession, stream: u64) -> bool {
    let Some(parked) = entry.parked.take(stream) else {
        return false;
    };
    let mut sse = Sse::resumed(parked, Arc::clone(&entry.parked), entry.token.clone())
        .logged(Arc::clone(&entry.replay), StreamKind::Request);
    tokio::spawn(async move { while sse.next_event().await.is_some() {} });
    true
}

/// The follower's side: the stream of `replay` (request stream `stream` of
/// session `sid`, which `entry` serves here), then of what the store gets
/// of it next, until its answer. Asks the writer to write it there.
pub(super) fn follow(
    http: &Http,
    sid: &str,
    entry: &HttpSession,
    stream: u64,
    replay: Replay,
) -> http::Response<Body> {
    let metrics = Arc::clone(http.server.shared.core.metrics_ref());
    metrics.replay_lost.fetch_add(replay.lost, Ordering::Relaxed);
    let answered = replay.events.last().is_some_and(|event| carries_answer(event));
    if !answered {
        incr(&metrics.http_streams_followed);
        http.announce(sid, &SessionEvent::Follow { stream });
    }
    let follower = Follower {
        _following: entry.parked.following(),
        log: Arc::clone(&entry.replay),
        stop: entry.token.clone(),
        stream,
        last: replay.last,
        queue: replay.events.into(),
        done: answered,
        metrics,
    };
    event_stream(stream::unfold(follower, |mut follower| async move {
        let event = follower.next().await?;
        Some((event, follower))
    }))
}

/// A followed stream.
struct Follower {
    /// Keeps the session in use while the stream is followed.
    _following: Following,
    log: Arc<ReplayLog>,
    /// The session's token.
    stop: CancellationToken,
    stream: u64,
    /// The number of the last event sent (or named by the client).
    last: u64,
    /// Events read, not yet sent.
    queue: VecDeque<Bytes>,
    /// True once the answer is queued, or the stream must end.
    done: bool,
    metrics: Arc<Metrics>,
}

impl Follower {
    async fn next(&mut self) -> Option<Bytes> {
        let mut wait = POLL_MIN;
        let mut quiet = Duration::ZERO;
        loop {
            if let Some(event) = self.queue.pop_front() {
                if carries_answer(&event) {
                    self.done = true;
                    self.queue.clear();
                }
                return Some(event);
            }
            if self.done || quiet >= QUIET {
                return None;
            }
            tokio::select! {
                biased;
                // Cancel-safe: only waits.
                () = self.stop.cancelled() => return None,
                // Cancel-safe: a timer.
                () = tokio::time::sleep(wait) => {}
            }
            quiet += wait;
            let read = tokio::time::timeout(STORE_WAIT, self.log.find(self.stream, self.last)).await;
            match read {
                Ok(Ok(Some(replay))) if !replay.events.is_empty() => {
                    self.metrics.replay_lost.fetch_add(replay.lost, Ordering::Relaxed);
                    self.last = replay.last;
                    self.queue = replay.events.into();
                }
                Ok(Ok(_)) => wait = (wait * 2).min(POLL_MAX),
                // The store failed or is slow: the client resumes later.
                Ok(Err(_)) | Err(_) => return None,
            }
        }
    }
}

/// True if `event` (a framed SSE event) carries the answer to a request:
/// a response or an error, not a notification or a request to the client.
fn carries_answer(event: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Message {
        method: Option<IgnoredAny>,
        result: Option<IgnoredAny>,
        error: Option<IgnoredAny>,
    }
    let data = event
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"data: "));
    match data.map(serde_json::from_slice::<Message>) {
        Some(Ok(message)) => {
            message.method.is_none() && (message.result.is_some() || message.error.is_some())
        }
        _ => false,
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use std::fmt;

    use super::*;
    use crate::ServerConfig;
    use crate::core::Core;
    use crate::server::store::{EventStore, LoggedStream, MemoryStore, StoreFuture};
    use crate::sync::AtomicU64;
    use crate::transport::http::parked::Parked;

    /// A memory event store that counts reads.
    struct Counting {
        inner: MemoryStore,
        reads: AtomicU64,
    }

    impl fmt::Debug for Counting {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("Counting")
        }
    }

    impl EventStore for Counting {
        fn append(&self, sid: &str, stream: u64, kind: StreamKind, seq: u64, event: &Bytes, ttl: Duration) {
            self.inner.append(sid, stream, kind, seq, event, ttl);
        }

        fn stream<'a>(&'a self, sid: &'a str, stream: u64) -> StoreFuture<'a, Option<LoggedStream>> {
            let reads = self.reads.fetch_add(1, Ordering::Relaxed);
            assert!(reads < 1_000, "busy polling");
            self.inner.stream(sid, stream)
        }

        fn forget(&self, sid: &str) {
            self.inner.forget(sid);
        }
    }

    fn follower(store: &Arc<Counting>, queue: Vec<Bytes>) -> Follower {
        let store: Arc<dyn EventStore> = Arc::clone(store) as _;
        let metrics = Arc::clone(Core::new(&ServerConfig::default()).metrics_ref());
        Follower {
            _following: Arc::new(Parked::new(Arc::clone(&metrics))).following(),
            log: Arc::new(ReplayLog::shared(store, "s", Duration::from_secs(60))),
            stop: CancellationToken::new(),
            stream: 7,
            last: 0,
            queue: queue.into(),
            done: false,
            metrics,
        }
    }

    /// A followed stream with nothing new backs off to a read a second
    /// (no busy polling), and ends after its quiet time.
    #[tokio::test(start_paused = true)]
    async fn a_quiet_stream_is_read_ever_less_often_then_ends() {
        let store = Arc::new(Counting {
            inner: MemoryStore::new(),
            reads: AtomicU64::new(0),
        });
        // The store knows the stream, with nothing after the event sent.
        let sent = Bytes::from_static(b"id: 7-1\ndata: {}\n\n");
        store.append("s", 7, StreamKind::Request, 1, &sent, Duration::from_secs(60));
        let mut quiet = follower(&store, Vec::new());
        quiet.last = 1;
        let started = tokio::time::Instant::now();
        assert!(quiet.next().await.is_none());
        let (took, reads) = (started.elapsed(), store.reads.load(Ordering::Relaxed));
        assert!(took >= QUIET && took < QUIET + POLL_MAX, "{took:?}");
        // 50 + 100 + 200 + 400 + 800 ms, then one a second.
        assert!((10..=16).contains(&reads), "{reads} reads in {took:?}");
    }

    /// The answer ends the stream at once: no read after it.
    #[tokio::test(start_paused = true)]
    async fn the_answer_ends_the_stream_at_once() {
        let store = Arc::new(Counting {
            inner: MemoryStore::new(),
            reads: AtomicU64::new(0),
        });
        let answer = Bytes::from_static(b"id: 7-1\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n");
        let mut answered = follower(&store, vec![answer.clone()]);
        let started = tokio::time::Instant::now();
        assert_eq!(answered.next().await, Some(answer));
        assert!(answered.next().await.is_none());
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert_eq!(store.reads.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn answers_are_told_from_notifications_and_requests() {
        let answer = b"id: 3-4\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n";
        let error =
            b"id: 3-4\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-1,\"message\":\"x\"}}\n\n";
        let note = b"id: 3-1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n";
        let ask = b"id: 3-2\ndata: {\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"elicitation/create\"}\n\n";
        assert!(carries_answer(answer));
        assert!(carries_answer(error));
        assert!(!carries_answer(note));
        assert!(!carries_answer(ask));
        assert!(
            !carries_answer(b"id: 3-0\nretry: 1000\ndata: \n\n"),
            "a priming event"
        );
        assert!(!carries_answer(b": keep-alive\n\n"));
        assert!(
            !carries_answer(b"id: 3-5\ndata: {\"jsonrpc\":\"2.0\"}\n\n"),
            "neither"
        );
    }
}
