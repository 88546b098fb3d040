//! The event store half of the Redis store: the events of each session's
//! SSE streams, for a replica that resumes a stream another one wrote.
//!
//! Keys (the session id in braces, so that one session's keys share a
//! cluster slot):
//!
//! - `<prefix>{<sid>}:stream:<n>`: a Redis Stream per SSE stream, one entry
//!   per event (`seq`, `kind`, `event`), capped with `MAXLEN`
//!   ([`RedisStoreConfig::max_events_per_stream`](super::RedisStoreConfig));
//! - `<prefix>{<sid>}:streams`: the session's streams, oldest first, capped
//!   ([`RedisStoreConfig::max_streams_per_session`](super::RedisStoreConfig)):
//!   a new stream past the cap deletes the oldest.
//!
//! Both live for the session's idle timeout after the last append. One Lua
//! script (`EVALSHA`, loaded once per connection's Redis, again after
//! `NOSCRIPT`) makes an append (cap, trim, expiry) a single round trip.
//!
//! Appends never wait: they go into a bounded queue that one task sends in
//! order, many per pipeline. A full queue, no connection, an event over
//! the size limit or a failed pipeline drops the append and counts it
//! (`appends_dropped`): a resumption on another replica then misses that
//! event (and counts it as lost, as for one trimmed).

use bytes::Bytes;
use tokio::time::timeout;

use super::Counters;
use super::link::Link;
use crate::server::store::{LoggedEvent, LoggedStream, StoreError, StreamKind};
use crate::sync::mpsc::error::TrySendError;
use crate::sync::{Arc, CancellationToken, mpsc};

/// Appends sent in one pipeline at most.
const BATCH: usize = 64;

/// Appends one event: KEYS the stream's entries and the session's list of
/// streams; ARGV the stream, kind, seq, event, events kept, streams kept,
/// time to live (ms), and the prefix of a stream's key.
const APPEND: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('LREM', KEYS[2], 0, ARGV[1])
  redis.call('RPUSH', KEYS[2], ARGV[1])
  while redis.call('LLEN', KEYS[2]) > tonumber(ARGV[6]) do
    redis.call('DEL', ARGV[8] .. redis.call('LPOP', KEYS[2]))
  end
end
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[5], '*', 'seq', ARGV[3], 'kind', ARGV[2], 'event', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
return 0
";

/// Forgets a session's streams: KEYS its list of streams; ARGV the prefix
/// of a stream's key.
const FORGET: &str = r"
for _, stream in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  redis.call('DEL', ARGV[1] .. stream)
end
redis.call('DEL', KEYS[1])
return 0
";

/// One piece of work for the appender, in the order it was asked for.
#[derive(Debug)]
pub(super) enum Work {
    Append {
        sid: String,
        stream: u64,
        kind: StreamKind,
        seq: u64,
        event: Bytes,
        ttl_ms: u64,
    },
    Forget {
        sid: String,
    },
}

/// The prefix of session `sid`'s stream keys.
pub(super) fn stream_prefix(prefix: &str, sid: &str) -> String {
    format!("{prefix}{{{sid}}}:stream:")
}

/// The key of session `sid`'s list of streams.
fn streams_key(prefix: &str, sid: &str) -> String {
    format!("{prefix}{{{sid}}}:streams")
}

/// Queues `work` for the appender; an append that cannot be queued (too
/// large, the queue full) is dropped and counted.
pub(super) fn queue(link: &Link, queue: &mpsc::Sender<Work>, work: Work) {
    if let Work::Append { event, .. } = &work
        && event.len() > link.config.max_event_bytes
    {
        Counters::add(&link.counters.appends_dropped);
        return;
    }
    if let Err(TrySendError::Full(refused) | TrySendError::Closed(refused)) = queue.try_send(work)
        && matches!(refused, Work::Append { .. })
    {
        Counters::add(&link.counters.appends_dropped);
    }
}

/// The scripts' SHA1 digests, as `SCRIPT LOAD` gave them.
struct Loaded {
    append: String,
    forget: String,
}

/// Sends what `queue` yields until `stop`, in order, up to [`BATCH`] per
/// pipeline.
pub(super) async fn run(link: Arc<Link>, mut queue: mpsc::Receiver<Work>, stop: CancellationToken) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut scripts = None;
    loop {
        let first = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            // Cancel safe: `recv` loses nothing.
            work = queue.recv() => match work {
                Some(work) => work,
                None => return,
            },
        };
        batch.push(first);
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(work) => batch.push(work),
                Err(_) => break,
            }
        }
        send(&link, &batch, &mut scripts).await;
        batch.clear();
    }
}

/// Sends `batch` as one pipeline of `EVALSHA`s, the scripts loaded first
/// when they are not yet (or no longer: Redis restarted, `NOSCRIPT`, and
/// the batch is sent again once).
async fn send(link: &Link, batch: &[Work], scripts: &mut Option<Loaded>) {
    let appends = batch.iter().filter(|w| matches!(w, Work::Append { .. })).count() as u64;
    let dropped = |error: &redis::RedisError| {
        link.counters
            .appends_dropped
            .fetch_add(appends, crate::sync::Ordering::Relaxed);
        drop(link.failed(error));
    };
    let Ok((mut connection, _permit)) = link.take() else {
        link.counters
            .appends_dropped
            .fetch_add(appends, crate::sync::Ordering::Relaxed);
        return;
    };
    for attempt in 0..2 {
        let loaded = match scripts {
            Some(loaded) => loaded,
            None => match timeout(link.config.command_timeout, load(&mut connection)).await {
                Ok(Ok(loaded)) => scripts.insert(loaded),
                Ok(Err(error)) => return dropped(&error),
                Err(_elapsed) => return dropped(&super::timed_out()),
            },
        };
        let pipe = pipeline(&link.config, batch, loaded);
        match timeout(
            link.config.command_timeout,
            pipe.query_async::<()>(&mut connection),
        )
        .await
        {
            Ok(Ok(())) => return,
            Ok(Err(error)) if error.code() == Some("NOSCRIPT") && attempt == 0 => *scripts = None,
            Ok(Err(error)) => return dropped(&error),
            Err(_elapsed) => return dropped(&super::timed_out()),
        }
    }
}

/// Loads both scripts into Redis's script cache.
async fn load(connection: &mut redis::aio::MultiplexedConnection) -> redis::RedisResult<Loaded> {
    let mut pipe = redis::pipe();
    pipe.cmd("SCRIPT").arg("LOAD").arg(APPEND);
    pipe.cmd("SCRIPT").arg("LOAD").arg(FORGET);
    let (append, forget): (String, String) = pipe.query_async(connection).await?;
    Ok(Loaded { append, forget })
}

/// The pipeline that does `batch`.
fn pipeline(config: &super::RedisStoreConfig, batch: &[Work], loaded: &Loaded) -> redis::Pipeline {
    let mut pipe = redis::pipe();
    for work in batch {
        match work {
            Work::Append {
                sid,
                stream,
                kind,
                seq,
                event,
                ttl_ms,
            } => {
                let prefix = stream_prefix(&config.prefix, sid);
                pipe.cmd("EVALSHA")
                    .arg(&loaded.append)
                    .arg(2)
                    .arg(format!("{prefix}{stream}"))
                    .arg(streams_key(&config.prefix, sid))
                    .arg(stream)
                    .arg(kind.name())
                    .arg(seq)
                    .arg(event.as_ref())
                    .arg(config.max_events_per_stream)
                    .arg(config.max_streams_per_session)
                    .arg(ttl_ms)
                    .arg(prefix)
                    .ignore();
            }
            Work::Forget { sid } => {
                pipe.cmd("EVALSHA")
                    .arg(&loaded.forget)
                    .arg(1)
                    .arg(streams_key(&config.prefix, sid))
                    .arg(stream_prefix(&config.prefix, sid))
                    .ignore();
            }
        }
    }
    pipe
}

/// Reads the entries of one Redis Stream (`XRANGE`), oldest first.
pub(super) fn read(
    entries: Vec<(String, Vec<Vec<u8>>)>,
    sid: &str,
) -> Result<Option<LoggedStream>, StoreError> {
    let unreadable = || StoreError(format!("an event of session {sid} is unreadable"));
    let mut kind = None;
    let mut events = Vec::with_capacity(entries.len());
    for (_id, fields) in entries {
        let (mut seq, mut event) = (None, None);
        for pair in fields.chunks(2) {
            let [name, value] = pair else {
                return Err(unreadable());
            };
            match name.as_slice() {
                b"seq" => seq = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok()),
                b"kind" => kind = std::str::from_utf8(value).ok().and_then(StreamKind::from_name),
                b"event" => event = Some(Bytes::copy_from_slice(value)),
                _ => {}
            }
        }
        let (Some(seq), Some(event)) = (seq, event) else {
            return Err(unreadable());
        };
        events.push(LoggedEvent { seq, event });
    }
    let Some(kind) = kind else {
        return Ok(None);
    };
    events.sort_by_key(|e| e.seq);
    Ok(Some(LoggedStream { kind, events }))
}
