//! The replay log of one HTTP session: the last events of its last streams,
//! so that a client whose stream broke can ask, with `Last-Event-ID` on a
//! GET, for what it missed.
//!
//! Bounded twice: [`REPLAY_EVENTS`] events per stream and [`REPLAY_STREAMS`]
//! streams per session; older ones are forgotten. A replay that asks for an
//! event already forgotten gets what is left, and the events it cannot have
//! are counted (`replay_lost`). An idle session's log holds nothing.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::sync::Mutex;

/// Events kept per stream for replay.
pub(crate) const REPLAY_EVENTS: usize = 64;
/// Streams kept per session for replay (the most recent).
pub(crate) const REPLAY_STREAMS: usize = 8;

/// What a stream carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StreamKind {
    /// The session's standalone (GET) stream: a replay continues it live.
    Standalone,
    /// One request's stream: a replay ends with what was kept.
    Request,
}

#[derive(Debug)]
struct Stream {
    id: u64,
    kind: StreamKind,
    /// `(sequence number, the whole SSE event)`, oldest first.
    events: VecDeque<(u64, Bytes)>,
}

/// A replay: the events after the one named, and how many are lost.
#[derive(Debug)]
pub(crate) struct Replay {
    pub(crate) kind: StreamKind,
    pub(crate) events: Vec<Bytes>,
    pub(crate) lost: u64,
}

/// The replay log of one session.
#[derive(Debug, Default)]
pub(crate) struct ReplayLog {
    streams: Mutex<VecDeque<Stream>>,
}

impl ReplayLog {
    /// Records event `seq` of stream `stream`.
    pub(crate) fn record(&self, stream: u64, kind: StreamKind, seq: u64, event: &Bytes) {
        let mut streams = self.streams.lock();
        let position = streams.iter().position(|s| s.id == stream);
        let entry = match position {
            Some(i) => &mut streams[i],
            None => {
                if streams.len() == REPLAY_STREAMS {
                    streams.pop_front();
                }
                streams.push_back(Stream {
                    id: stream,
                    kind,
                    events: VecDeque::new(),
                });
                streams.back_mut().expect("just pushed")
            }
        };
        if entry.events.len() == REPLAY_EVENTS {
            entry.events.pop_front();
        }
        entry.events.push_back((seq, event.clone()));
    }

    /// The events of `stream` after `after`; `None` if the stream is not
    /// (or no longer) known.
    pub(crate) fn after(&self, stream: u64, after: u64) -> Option<Replay> {
        let streams = self.streams.lock();
        let entry = streams.iter().find(|s| s.id == stream)?;
        let oldest = entry.events.front().map_or(after + 1, |(seq, _)| *seq);
        Some(Replay {
            kind: entry.kind,
            events: entry
                .events
                .iter()
                .filter(|(seq, _)| *seq > after)
                .map(|(_, event)| event.clone())
                .collect(),
            lost: oldest.saturating_sub(after + 1),
        })
    }
}

/// Reads a `Last-Event-ID` of the form `<stream>-<seq>`.
pub(crate) fn parse_event_id(id: &str) -> Option<(u64, u64)> {
    let (stream, seq) = id.split_once('-')?;
    Some((stream.parse().ok()?, seq.parse().ok()?))
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_events_and_counts_what_is_lost() {
        let log = ReplayLog::default();
        for seq in 1..=(REPLAY_EVENTS as u64 + 10) {
            log.record(3, StreamKind::Standalone, seq, &Bytes::from(seq.to_string()));
        }
        let replay = log.after(3, 0).unwrap();
        assert_eq!(replay.lost, 10);
        assert_eq!(replay.events.len(), REPLAY_EVENTS);
        assert_eq!(replay.events[0], Bytes::from("11"));
        let tail = log.after(3, REPLAY_EVENTS as u64 + 8).unwrap();
        assert_eq!((tail.events.len(), tail.lost), (2, 0));
        assert!(log.after(4, 0).is_none());
    }

    #[test]
    fn keeps_the_last_streams() {
        let log = ReplayLog::default();
        for stream in 0..(REPLAY_STREAMS as u64 + 2) {
            log.record(stream, StreamKind::Request, 1, &Bytes::from("e"));
        }
        assert!(log.after(0, 0).is_none() && log.after(1, 0).is_none());
        assert_eq!(log.after(2, 0).unwrap().kind, StreamKind::Request);
    }

    #[test]
    fn event_ids() {
        assert_eq!(parse_event_id("12-7"), Some((12, 7)));
        assert_eq!(parse_event_id("x-7"), None);
        assert_eq!(parse_event_id("12"), None);
    }
}
