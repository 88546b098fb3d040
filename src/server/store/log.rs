//! The event store: the events of a 2025 session's SSE streams, so that a
//! client whose stream broke can resume it (`Last-Event-ID` on a GET) on
//! any replica, not only on the one that wrote it.
//!
//! A replica always keeps the last events of its own streams itself
//! ([`StreamLog`]); an [`EventStore`] is where it also appends them for the
//! others. A resumption that names a stream the replica did not write asks
//! the store.
//!
//! Bounded like the replica's own log: at most [`LOGGED_EVENTS_PER_STREAM`]
//! events per stream (the oldest go first) and [`LOGGED_STREAMS_PER_SESSION`]
//! streams per session (the oldest stream goes first).

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;

use super::StoreFuture;
use crate::sync::Mutex;

/// Events kept per stream.
pub const LOGGED_EVENTS_PER_STREAM: usize = 64;
/// Streams kept per session (the most recent).
pub const LOGGED_STREAMS_PER_SESSION: usize = 8;

/// What a stream carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamKind {
    /// The session's standalone (GET) stream: a resumption goes on live
    /// with the session's standalone stream.
    Standalone,
    /// One request's stream: a resumption ends with what was logged.
    Request,
}

impl StreamKind {
    /// The kind's name in a store (`standalone`, `request`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Standalone => "standalone",
            Self::Request => "request",
        }
    }

    /// The kind named `name`, as [`StreamKind::name`] writes it.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "standalone" => Some(Self::Standalone),
            "request" => Some(Self::Request),
            _ => None,
        }
    }
}

/// One event of a stream: its number in the stream and the whole SSE event
/// (its `id:` and `data:` lines), as the client received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Its number in its stream (from 1).
    pub seq: u64,
    /// The event, framed.
    pub event: Bytes,
}

/// What a store holds of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedStream {
    /// What the stream carried.
    pub kind: StreamKind,
    /// Its last events, oldest first.
    pub events: Vec<LoggedEvent>,
}

/// Keeps the events of sessions' streams for replicas that did not write
/// them.
///
/// Implementations never block the caller's thread; [`EventStore::append`]
/// never waits at all (an append that cannot be made is dropped, and the
/// store counts it).
pub trait EventStore: Send + Sync + fmt::Debug + 'static {
    /// Appends event `seq` of stream `stream` of session `sid`, kept for
    /// `ttl` after the stream's last append.
    fn append(&self, sid: &str, stream: u64, kind: StreamKind, seq: u64, event: &Bytes, ttl: Duration);

    /// What is kept of stream `stream` of session `sid`, if anything.
    fn stream<'a>(&'a self, sid: &'a str, stream: u64) -> StoreFuture<'a, Option<LoggedStream>>;

    /// Forgets every stream of session `sid` (it was deleted), without
    /// waiting.
    fn forget(&self, sid: &str);
}

#[derive(Debug)]
struct Kept {
    id: u64,
    kind: StreamKind,
    events: VecDeque<LoggedEvent>,
}

/// The last events of the last streams of one session, in memory.
#[derive(Debug, Default)]
pub struct StreamLog {
    streams: Mutex<VecDeque<Kept>>,
}

impl StreamLog {
    /// Records event `seq` of stream `stream`.
    pub fn record(&self, stream: u64, kind: StreamKind, seq: u64, event: &Bytes) {
        let mut streams = self.streams.lock();
        let position = streams.iter().position(|s| s.id == stream);
        let kept = match position {
            Some(i) => &mut streams[i],
            None => {
                if streams.len() == LOGGED_STREAMS_PER_SESSION {
                    streams.pop_front();
                }
                streams.push_back(Kept {
                    id: stream,
                    kind,
                    events: VecDeque::new(),
                });
                streams.back_mut().expect("just pushed")
            }
        };
        if kept.events.len() == LOGGED_EVENTS_PER_STREAM {
            kept.events.pop_front();
        }
        kept.events.push_back(LoggedEvent {
            seq,
            event: event.clone(),
        });
    }

    /// What is kept of stream `stream`, if it is known.
    pub fn stream(&self, stream: u64) -> Option<LoggedStream> {
        let streams = self.streams.lock();
        let kept = streams.iter().find(|s| s.id == stream)?;
        Some(LoggedStream {
            kind: kept.kind,
            events: kept.events.iter().cloned().collect(),
        })
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_events_of_the_last_streams() {
        let log = StreamLog::default();
        for seq in 1..=(LOGGED_EVENTS_PER_STREAM as u64 + 10) {
            log.record(3, StreamKind::Standalone, seq, &Bytes::from(seq.to_string()));
        }
        let kept = log.stream(3).unwrap();
        assert_eq!(kept.events.len(), LOGGED_EVENTS_PER_STREAM);
        assert_eq!(kept.events[0].seq, 11);
        assert_eq!(kept.events[0].event, Bytes::from("11"));
        for stream in 10..(10 + LOGGED_STREAMS_PER_SESSION as u64) {
            log.record(stream, StreamKind::Request, 1, &Bytes::from("e"));
        }
        assert!(log.stream(3).is_none(), "the oldest stream went");
        assert_eq!(log.stream(10).unwrap().kind, StreamKind::Request);
    }

    #[test]
    fn kinds_have_names() {
        for kind in [StreamKind::Standalone, StreamKind::Request] {
            assert_eq!(StreamKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(StreamKind::from_name("x"), None);
    }
}
