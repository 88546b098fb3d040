//! Where a 2025 session copy's standalone messages go, and their relay to
//! the replica that holds the session's standalone stream.
//!
//! A session's outbox receiver is its standalone stream's source: here
//! ([`Standalone`]) while no stream has it, queueing what the server sends
//! the session outside a request (a `list_changed`, a `resources/updated`,
//! a log message); with the stream while one is open.
//!
//! With sessions in a store, a client's GET may open the standalone stream
//! on any replica, and the server's notifications for the session may be
//! raised on any replica that holds a copy of it. The replica that opens
//! the stream says so ([`SessionEvent::Listening`]), and again whenever
//! another replica takes the session up ([`SessionEvent::Joined`]); every
//! other copy then relays what it has for the stream, what was queued
//! first, over the store's pub/sub ([`SessionEvent::Relayed`]); the copy that is not
//! relaying (the one whose replica opened the stream last) takes it into
//! its outbox, as if raised there: into the open stream, or queued for the
//! next GET there. A relaying copy ignores what others relay, so a message
//! crosses once. A GET on a relaying copy takes the receiver back from its
//! relay, and says it listens.
//!
//! A relaying copy counts as idle (no stream is open here): it ends with
//! the idle timeout as any other. Best effort, as pub/sub is: a message
//! relayed while no replica holds an open stream or a copy that takes it
//! is lost, as a notification to a session with no stream open anywhere.

use std::time::Duration;

use bytes::Bytes;

use crate::core::OutboxReceiver;
use crate::metrics::{Metrics, decr, incr};
use crate::server::store::{SessionEvent, SessionStore};
use crate::sync::{Arc, CancellationToken, Mutex, oneshot};

/// The longest a GET waits for a relay to hand the receiver back.
const TAKE_BACK: Duration = Duration::from_secs(1);

/// Where a relay hands the receiver back to a GET.
type Reply = oneshot::Sender<OutboxReceiver>;

/// Where a session copy's outbox receiver is.
enum Held {
    /// Here, queueing.
    Here(OutboxReceiver),
    /// With the standalone stream open here; `elsewhere` once another
    /// replica opened one too (its relay starts when this one ends).
    Open { elsewhere: bool },
    /// With the relay, which hands it back when asked.
    Relayed(oneshot::Sender<Reply>),
}

/// Where a copy relays to: its session's store, as this service.
pub(super) struct RelayTo {
    pub(super) store: Arc<dyn SessionStore>,
    pub(super) origin: u64,
    pub(super) sid: String,
    /// The session's token.
    pub(super) stop: CancellationToken,
}

/// The standalone stream's source of one session copy.
pub(crate) struct Standalone {
    held: Mutex<Held>,
    /// Where the streams open are counted (`http_standalone_streams`:
    /// copies whose receiver is [`Held::Open`]).
    metrics: Arc<Metrics>,
    /// Set for a session kept in a store (one that may be listened to on
    /// another replica).
    relay_to: Option<Box<RelayTo>>,
}

/// A session copy's [`Standalone`], shared by its entry and its stream.
pub(crate) type Slot = Arc<Standalone>;

impl Standalone {
    /// The source `rx`, here; relayed to `relay_to` when another replica
    /// listens.
    pub(super) fn new(rx: OutboxReceiver, relay_to: Option<RelayTo>, metrics: Arc<Metrics>) -> Slot {
        Arc::new(Self {
            held: Mutex::new(Held::Here(rx)),
            metrics,
            relay_to: relay_to.map(Box::new),
        })
    }

    /// The receiver, for a standalone stream opening here: taken from here
    /// or back from the relay. `None` while a stream is open here (or the
    /// relay did not hand it back in time).
    pub(crate) async fn open(&self) -> Option<OutboxReceiver> {
        let ask = {
            let mut held = self.held.lock();
            let ask = match std::mem::replace(&mut *held, Held::Open { elsewhere: false }) {
                Held::Here(rx) => Ok(rx),
                open @ Held::Open { .. } => {
                    *held = open;
                    return None;
                }
                Held::Relayed(ask) => Err(ask),
            };
            incr(&self.metrics.http_standalone_streams);
            match ask {
                Ok(rx) => return Some(rx),
                Err(ask) => ask,
            }
        };
        let (reply, back) = oneshot::channel();
        // A relay gone without handing it back: its session ended.
        ask.send(reply).ok()?;
        // Dropped or late, the relay puts the receiver back itself.
        tokio::time::timeout(TAKE_BACK, back).await.ok()?.ok()
    }

    /// Puts the receiver back (the stream that had it ended): here, or to
    /// the relay if another replica opened a stream meanwhile.
    pub(crate) fn put_back(self: &Arc<Self>, rx: OutboxReceiver) {
        let mut held = self.held.lock();
        if matches!(*held, Held::Open { .. }) {
            decr(&self.metrics.http_standalone_streams);
        }
        if let (Held::Open { elsewhere: true }, Some(to)) = (&*held, &self.relay_to) {
            let (ask, asked) = oneshot::channel();
            *held = Held::Relayed(ask);
            spawn_relay(Arc::clone(self), to, rx, asked);
        } else {
            *held = Held::Here(rx);
        }
    }

    /// True while a standalone stream is open here.
    pub(crate) fn is_open(&self) -> bool {
        matches!(*self.held.lock(), Held::Open { .. })
    }

    /// Another replica opened the session's standalone stream: relays
    /// what is here, at once or when the stream open here ends. False if
    /// there is nothing to relay to, or a relay runs already.
    pub(super) fn listened_elsewhere(self: &Arc<Self>) -> bool {
        let Some(to) = &self.relay_to else {
            return false;
        };
        let mut held = self.held.lock();
        match &mut *held {
            Held::Open { elsewhere } => {
                *elsewhere = true;
                true
            }
            Held::Relayed(_) => false,
            Held::Here(_) => {
                let (ask, asked) = oneshot::channel();
                let Held::Here(rx) = std::mem::replace(&mut *held, Held::Relayed(ask)) else {
                    unreachable!("matched under the lock")
                };
                spawn_relay(Arc::clone(self), to, rx, asked);
                true
            }
        }
    }

    /// A message another copy relayed: its frame, to take in here, unless
    /// this copy relays too.
    pub(super) fn take(&self, message: String) -> Option<Bytes> {
        let relaying = matches!(*self.held.lock(), Held::Relayed(_));
        (!relaying).then(|| Bytes::from(message))
    }
}

impl Drop for Standalone {
    /// The session ended with a stream opening (a relay that never handed
    /// its receiver back).
    fn drop(&mut self) {
        if matches!(*self.held.lock(), Held::Open { .. }) {
            decr(&self.metrics.http_standalone_streams);
        }
    }
}

/// Relays what `rx` yields through `to`'s pub/sub until `asked` asks for
/// it back (or the session ends).
fn spawn_relay(slot: Slot, to: &RelayTo, mut rx: OutboxReceiver, mut asked: oneshot::Receiver<Reply>) {
    let (store, origin, sid, stop) = (Arc::clone(&to.store), to.origin, to.sid.clone(), to.stop.clone());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                // Cancel-safe: only waits. The session ended.
                () = stop.cancelled() => return,
                // Cancel-safe: a oneshot receiver can be polled again.
                ask = &mut asked => {
                    match ask {
                        Ok(reply) => {
                            if let Err(rx) = reply.send(rx) {
                                slot.put_back(rx);
                            }
                        }
                        Err(_) => slot.put_back(rx),
                    }
                    return;
                }
                // Cancel-safe: a queued message stays queued.
                next = rx.recv() => {
                    let Some(envelope) = next else { return };
                    let message = String::from_utf8_lossy(envelope.frame()).into_owned();
                    store.announce(origin, &sid, &SessionEvent::Relayed { message });
                    envelope.delivered();
                }
            }
        }
    });
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;
    use crate::ServerConfig;
    use crate::core::Core;
    use crate::server::store::MemoryStore;

    /// A relaying copy is idle (no stream open here) and ignores what
    /// others relay; a GET takes its receiver back; a stream that ends
    /// after another replica opened one hands its receiver to a relay.
    #[tokio::test]
    async fn the_receiver_moves_between_here_a_stream_and_the_relay() {
        let core = Core::new(&ServerConfig::default());
        let (session, rx) = core.admit().and_then(|p| core.register(p)).unwrap();
        let to = RelayTo {
            store: Arc::new(MemoryStore::new()),
            origin: 1,
            sid: "s".into(),
            stop: session.token().clone(),
        };
        let slot = Standalone::new(rx, Some(to), Arc::clone(core.metrics_ref()));
        assert!(slot.take("{}".into()).is_some(), "here: takes what is relayed");
        assert!(slot.listened_elsewhere(), "relays what is here");
        assert!(!slot.is_open(), "relaying is idle");
        assert!(slot.take("{}".into()).is_none(), "a relaying copy ignores relays");
        assert!(!slot.listened_elsewhere(), "one relay at a time");

        let rx = slot.open().await.expect("taken back from the relay");
        assert!(slot.is_open());
        assert_eq!(core.metrics().http_standalone_streams, 1);
        assert!(slot.open().await.is_none(), "one stream at a time");
        assert!(slot.listened_elsewhere(), "noted for when this stream ends");
        assert!(slot.is_open(), "the stream here goes on");
        slot.put_back(rx);
        assert!(!slot.is_open());
        assert_eq!(core.metrics().http_standalone_streams, 0);
        assert!(slot.take("{}".into()).is_none(), "ended: relayed, not kept");
        let rx = slot.open().await.expect("taken back again");
        slot.put_back(rx);
        assert!(
            slot.take("{}".into()).is_some(),
            "nobody listens elsewhere: kept here"
        );

        // A copy that ends while a stream opens (its receiver gone with a
        // relay that never handed it back) counts no stream open.
        let rx = slot.open().await.expect("here");
        assert_eq!(core.metrics().http_standalone_streams, 1);
        drop(slot);
        for _ in 0..100 {
            if core.metrics().http_standalone_streams == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(core.metrics().http_standalone_streams, 0);
        drop(rx);

        let (_, rx) = core.admit().and_then(|p| core.register(p)).unwrap();
        let unstored = Standalone::new(rx, None, Arc::clone(core.metrics_ref()));
        assert!(
            !unstored.listened_elsewhere(),
            "a session in no store never relays"
        );
    }
}
