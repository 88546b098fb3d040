//! The replay log of one HTTP session: the last events of its last streams,
//! so that a client whose stream broke can ask, with `Last-Event-ID` on a
//! GET, for what it missed.
//!
//! The replica keeps what it wrote itself (bounded: see
//! [`StreamLog`]); with an event store, it appends every event there too
//! and asks the store for a stream it did not write (another replica did).
//! A replay that asks for an event already forgotten gets what is left,
//! and the events it cannot have are counted (`replay_lost`). An idle
//! session's log holds nothing.

use std::time::Duration;

use bytes::Bytes;

pub(crate) use crate::server::store::StreamKind;
use crate::server::store::{EventStore, LoggedStream, StoreError, StreamLog};
use crate::sync::Arc;

/// A replay: the events after the one named, and how many are lost.
#[derive(Debug)]
pub(crate) struct Replay {
    pub(crate) kind: StreamKind,
    pub(crate) events: Vec<Bytes>,
    pub(crate) lost: u64,
    /// The number of the last event replayed (the one named, if none).
    pub(crate) last: u64,
}

impl Replay {
    /// The events of `logged` after `after`.
    fn of(logged: LoggedStream, after: u64) -> Self {
        let oldest = logged.events.first().map_or(after + 1, |e| e.seq);
        let last = logged.events.last().map_or(after, |e| e.seq.max(after));
        Self {
            kind: logged.kind,
            events: logged
                .events
                .into_iter()
                .filter(|e| e.seq > after)
                .map(|e| e.event)
                .collect(),
            lost: oldest.saturating_sub(after + 1),
            last,
        }
    }
}

/// Where a session's events also go for other replicas.
#[derive(Debug)]
struct Shared {
    store: Arc<dyn EventStore>,
    sid: String,
    ttl: Duration,
}

/// The replay log of one session.
#[derive(Debug, Default)]
pub(crate) struct ReplayLog {
    local: StreamLog,
    shared: Option<Shared>,
}

impl ReplayLog {
    /// A log of session `sid` that also appends to `store`, each stream
    /// kept there for `ttl` after its last event.
    pub(crate) fn shared(store: Arc<dyn EventStore>, sid: &str, ttl: Duration) -> Self {
        Self {
            local: StreamLog::default(),
            shared: Some(Shared {
                store,
                sid: sid.to_owned(),
                ttl,
            }),
        }
    }

    /// Records event `seq` of stream `stream`.
    pub(crate) fn record(&self, stream: u64, kind: StreamKind, seq: u64, event: &Bytes) {
        self.local.record(stream, kind, seq, event);
        if let Some(shared) = &self.shared {
            shared
                .store
                .append(&shared.sid, stream, kind, seq, event, shared.ttl);
        }
    }

    /// The events of a stream this replica wrote after `after`; `None` if
    /// it did not write it (or no longer knows it).
    pub(crate) fn after(&self, stream: u64, after: u64) -> Option<Replay> {
        self.local.stream(stream).map(|logged| Replay::of(logged, after))
    }

    /// The events of `stream` after `after`, from this replica's log or
    /// else the event store; `None` if neither knows the stream.
    pub(crate) async fn find(&self, stream: u64, after: u64) -> Result<Option<Replay>, StoreError> {
        if let Some(replay) = self.after(stream, after) {
            return Ok(Some(replay));
        }
        let Some(shared) = &self.shared else {
            return Ok(None);
        };
        let logged = shared.store.stream(&shared.sid, stream).await?;
        Ok(logged.map(|logged| Replay::of(logged, after)))
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
    use crate::server::store::{LOGGED_EVENTS_PER_STREAM, MemoryStore};

    #[test]
    fn replays_after_an_event_and_counts_what_is_lost() {
        let log = ReplayLog::default();
        for seq in 1..=(LOGGED_EVENTS_PER_STREAM as u64 + 10) {
            log.record(3, StreamKind::Standalone, seq, &Bytes::from(seq.to_string()));
        }
        let replay = log.after(3, 0).unwrap();
        assert_eq!(replay.lost, 10);
        assert_eq!(replay.events.len(), LOGGED_EVENTS_PER_STREAM);
        assert_eq!(replay.events[0], Bytes::from("11"));
        assert_eq!(replay.last, LOGGED_EVENTS_PER_STREAM as u64 + 10);
        let tail = log.after(3, LOGGED_EVENTS_PER_STREAM as u64 + 8).unwrap();
        assert_eq!((tail.events.len(), tail.lost), (2, 0));
        let none = log.after(3, 1_000).unwrap();
        assert_eq!(
            (none.events.len(), none.last),
            (0, 1_000),
            "nothing after the one named"
        );
        assert!(log.after(4, 0).is_none());
    }

    #[tokio::test]
    async fn a_stream_another_replica_wrote_comes_from_the_store() {
        let store: Arc<dyn EventStore> = Arc::new(MemoryStore::new());
        let ttl = Duration::from_secs(60);
        let writer = ReplayLog::shared(Arc::clone(&store), "s", ttl);
        for seq in 1..=3 {
            writer.record(7, StreamKind::Request, seq, &Bytes::from(seq.to_string()));
        }
        let other = ReplayLog::shared(Arc::clone(&store), "s", ttl);
        assert!(other.after(7, 1).is_none(), "not written here");
        let replay = other.find(7, 1).await.unwrap().expect("in the store");
        assert_eq!(replay.kind, StreamKind::Request);
        assert_eq!(replay.events, vec![Bytes::from("2"), Bytes::from("3")]);
        assert!(other.find(8, 0).await.unwrap().is_none());
        let unshared = ReplayLog::default();
        assert!(unshared.find(7, 0).await.unwrap().is_none());
    }

    #[test]
    fn event_ids() {
        assert_eq!(parse_event_id("12-7"), Some((12, 7)));
        assert_eq!(parse_event_id("x-7"), None);
        assert_eq!(parse_event_id("12"), None);
    }
}
