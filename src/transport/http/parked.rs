//! Request streams the server closed while their request still runs
//! (SEP-1699 polling), waiting for the client to resume them with a GET
//! that names their last event in `Last-Event-ID`.
//!
//! A handler asks for it with `RequestContext::close_stream`: the POST's
//! SSE stream ends (the client got a priming event with `retry`, so it
//! knows when to come back), the request goes on, and what it sends next
//! stays queued in the stream's outbox receiver, parked here under the
//! stream's number with the next event number. A GET resuming that stream
//! takes it, replays what the client missed and goes on live until the
//! answer; a resumed stream dropped before the answer is parked again.
//!
//! Bounded: at most [`MAX_PARKED`] streams per session; parking one more
//! drops the oldest, which cancels its request (its guard goes with it) and
//! counts what it still held as dropped. A parked stream ends with its
//! session.
//!
//! The same holder counts the session's request streams followed here
//! from a store (`follow.rs`: written by another replica): while one is
//! followed, the session is in use, as with a standalone stream open.

use std::collections::VecDeque;

use super::cancel::CancelOnDrop;
use crate::core::OutboxReceiver;
use crate::metrics::{Metrics, decr, incr};
use crate::sync::{Arc, AtomicU64, Mutex, Ordering};

/// Streams parked per session at most.
pub(crate) const MAX_PARKED: usize = 8;

/// One parked request stream.
pub(crate) struct ParkedStream {
    pub(crate) stream: u64,
    /// The number of the stream's last event so far.
    pub(crate) seq: u64,
    pub(crate) rx: OutboxReceiver,
    /// Cancels the request if the stream is dropped for good.
    pub(crate) cancel: CancelOnDrop,
}

/// The parked streams of one session.
pub(crate) struct Parked {
    streams: Mutex<VecDeque<ParkedStream>>,
    /// Where the parked streams of every session are counted
    /// (`http_streams_parked`).
    metrics: Arc<Metrics>,
    /// Request streams followed here now.
    followed: AtomicU64,
}

/// One request stream followed here, until dropped.
pub(crate) struct Following(Arc<Parked>);

impl Drop for Following {
    fn drop(&mut self) {
        self.0.followed.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Parked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parked")
            .field("streams", &self.streams.lock().len())
            .finish()
    }
}

impl Parked {
    /// No stream parked yet; they are counted in `metrics`.
    pub(crate) fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            streams: Mutex::default(),
            metrics,
            followed: AtomicU64::new(0),
        }
    }

    /// Counts a request stream followed here until the guard drops.
    pub(crate) fn following(self: &Arc<Self>) -> Following {
        self.followed.fetch_add(1, Ordering::Relaxed);
        Following(Arc::clone(self))
    }

    /// True while a request stream of the session is followed here.
    pub(crate) fn is_followed(&self) -> bool {
        self.followed.load(Ordering::Relaxed) > 0
    }

    /// Parks `parked`, dropping the oldest if the session has
    /// [`MAX_PARKED`] already.
    pub(crate) fn park(&self, parked: ParkedStream) {
        let evicted = {
            let mut streams = self.streams.lock();
            let evicted = (streams.len() >= MAX_PARKED)
                .then(|| streams.pop_front())
                .flatten();
            streams.push_back(parked);
            evicted
        };
        incr(&self.metrics.http_streams_parked);
        if evicted.is_some() {
            decr(&self.metrics.http_streams_parked);
        }
        // Dropped outside the lock: it cancels a token and drops messages.
        drop(evicted);
    }

    /// Takes the stream numbered `stream`, if it is parked.
    pub(crate) fn take(&self, stream: u64) -> Option<ParkedStream> {
        let taken = {
            let mut streams = self.streams.lock();
            let position = streams.iter().position(|p| p.stream == stream)?;
            streams.remove(position)
        };
        decr(&self.metrics.http_streams_parked);
        taken
    }

    /// Streams parked now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.streams.lock().len()
    }
}

impl Drop for Parked {
    /// The session ended: what is still parked goes with it.
    fn drop(&mut self) {
        let left = self.streams.lock().len() as u64;
        self.metrics
            .http_streams_parked
            .fetch_sub(left, Ordering::Relaxed);
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;
    use crate::ServerConfig;
    use crate::core::{Core, SessionId};
    use crate::sync::CancellationToken;

    #[test]
    fn parking_one_too_many_drops_the_oldest_and_cancels_its_request() {
        let core = Core::new(&ServerConfig::default());
        let parked = Parked::new(Arc::clone(core.metrics_ref()));
        let mut tokens = Vec::new();
        let mut senders = Vec::new();
        for stream in 0..=MAX_PARKED as u64 {
            let token = CancellationToken::new();
            let (tx, rx) = core.request_outbox(SessionId(1), token.clone());
            tx.try_notify(bytes::Bytes::from_static(b"{}")).unwrap();
            parked.park(ParkedStream {
                stream,
                seq: 3,
                rx,
                cancel: CancelOnDrop(token.clone()),
            });
            tokens.push(token);
            senders.push(tx);
        }
        assert_eq!(parked.len(), MAX_PARKED);
        assert!(
            tokens[0].is_cancelled(),
            "the oldest was dropped, and its request cancelled"
        );
        assert!(tokens[1..].iter().all(|t| !t.is_cancelled()));
        assert!(parked.take(0).is_none());
        let resumed = parked.take(MAX_PARKED as u64).expect("the newest is parked");
        assert_eq!((resumed.stream, resumed.seq), (MAX_PARKED as u64, 3));
        assert!(parked.take(MAX_PARKED as u64).is_none(), "taken once");
        assert_eq!(
            core.metrics().messages_dropped,
            1,
            "what the dropped stream held is counted"
        );
        assert_eq!(core.metrics().http_streams_parked, MAX_PARKED as u64 - 1);
        drop(parked);
        assert_eq!(
            core.metrics().http_streams_parked,
            0,
            "a session's end takes what it parked"
        );
    }

    #[test]
    fn a_session_is_followed_while_any_of_its_followers_lives() {
        let core = Core::new(&ServerConfig::default());
        let parked = Arc::new(Parked::new(Arc::clone(core.metrics_ref())));
        assert!(!parked.is_followed());
        let (first, second) = (parked.following(), parked.following());
        drop(first);
        assert!(parked.is_followed(), "one follower is left");
        drop(second);
        assert!(!parked.is_followed());
    }
}
