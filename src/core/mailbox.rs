//! The mailbox of a session whose messages arrive one at a time from
//! elsewhere (each HTTP POST), instead of on a byte stream the session
//! reads itself.
//!
//! # Invariants
//!
//! 1. Bounded: at most `capacity` messages wait; a poster waits for room
//!    ([`Mailbox::post`]), so a client that sends faster than its session
//!    works is slowed, not buffered.
//! 2. Nothing waits on a mailbox whose session has ended:
//!    [`MailboxReceiver::end`] closes it, which fails every poster waiting
//!    for room, and drops every message still queued, which drops whatever
//!    the message carries (the route of its answer), so a request waiting
//!    for its answer learns at once that none will come.
//!
//! Known-bad variant `mailbox_kept_open` (model builds only, see
//! `ci/mutants.sh`): `end` leaks the receiver instead of closing it, as a
//! session that parked its mailbox somewhere would. The HTTP models catch it
//! as a deadlock: a POST waits forever for room or for its answer.

use crate::sync::{mpsc, mutant};

/// Creates a mailbox of `capacity` messages.
pub fn mailbox<T>(capacity: usize) -> (Mailbox<T>, MailboxReceiver<T>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (Mailbox { tx }, MailboxReceiver { rx })
}

/// The posting side. Cheap to clone.
#[derive(Debug)]
pub struct Mailbox<T> {
    tx: mpsc::Sender<T>,
}

impl<T> Clone for Mailbox<T> {
    fn clone(&self) -> Self {
        Self { tx: self.tx.clone() }
    }
}

impl<T> Mailbox<T> {
    /// Posts a message, waiting for room.
    ///
    /// # Errors
    ///
    /// The message back, when the session has ended (its mailbox is closed).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropped before it completes, the message was not posted
    /// (and is dropped with the future).
    pub async fn post(&self, message: T) -> Result<(), T> {
        self.tx.send(message).await.map_err(|mpsc::error::SendError(m)| m)
    }
}

/// The session's side.
#[derive(Debug)]
pub struct MailboxReceiver<T> {
    rx: mpsc::Receiver<T>,
}

impl<T> MailboxReceiver<T> {
    /// The next message; `None` once every poster is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a message is never lost by dropping this future.
    pub async fn recv(&mut self) -> Option<T> {
        self.rx.recv().await
    }

    /// Ends the mailbox with its session: no more posts, and every message
    /// still queued is dropped (invariant 2).
    pub fn end(mut self) {
        if mutant("mailbox_kept_open") {
            std::mem::forget(self);
            return;
        }
        self.rx.close();
        drop(self);
    }
}
