//! The model-checked core: admission, session registry, shutdown and drain,
//! outboxes.
//!
//! It uses only `crate::sync`: it never spawns a task and never touches a
//! socket. The lifecycle of a session is a handful of functions, which the
//! server calls with real work and the loom and shuttle models call with toy
//! work:
//!
//! ```text
//! Core::admit -> Core::register -> (run the work) -> drop(Session): deregister, then release
//! Core::shutdown -> Core::drained
//! ```
//!
//! A session fed one message at a time (HTTP) adds a [`Mailbox`] and an
//! entry in a transport's [`Directory`]; each request it runs answers into
//! an outbox of its own ([`Core::request_outbox`]). A long-lived listen
//! stream is a session registered in [`Subscribers`] too. The tasks of the
//! tasks extension live in a [`TaskTable`].

mod admission;
mod delivery;
mod directory;
mod lifecycle;
mod mailbox;
mod outbox;
mod registry;
mod subscribers;
mod tasks;

pub use admission::Permit;
pub use delivery::{BroadcastReport, SessionInfo};
pub use directory::Directory;
pub use lifecycle::{Core, Session};
pub use mailbox::{Mailbox, MailboxReceiver, mailbox};
pub use outbox::{Envelope, OutboxReceiver, OutboxSender};
pub use subscribers::{Subscribers, Subscription};
pub use tasks::{TaskRefusal, TaskSnapshot, TaskStatus, TaskTable};

use crate::sync::{AtomicU8, Mutex, Ordering};

pub use crate::session_id::SessionId;

/// A map keyed by ids the server hands out itself (session and
/// subscription numbers), hashed with fixed keys: what is iterated to fan
/// out (sessions, listen streams) comes in the same order run after run,
/// so a seeded simulation replays exactly (`tests/simulation.rs`). No
/// client chooses these keys, so fixed keys give no client a way to
/// collide them.
pub type IdMap<K, V> = std::collections::HashMap<K, V, IdHasher>;

/// A set of ids the server hands out itself (see [`IdMap`]).
pub type IdSet<K> = std::collections::HashSet<K, IdHasher>;

/// The fixed-key hasher of [`IdMap`] and [`IdSet`].
pub type IdHasher = std::hash::BuildHasherDefault<std::hash::DefaultHasher>;

/// A `notify_gate` value that lets no broadcast through.
pub const GATE_CLOSED: u8 = u8::MAX;

/// Protocol-level facts about a session that the core needs to route
/// broadcasts, set by the protocol layer.
#[derive(Debug)]
pub struct SessionAttrs {
    /// Lowest level (in the protocol's own scale) of broadcast this session
    /// receives; [`GATE_CLOSED`] until the protocol layer opens it.
    notify_gate: AtomicU8,
    /// The protocol version the session speaks, once known.
    protocol_version: Mutex<Option<&'static str>>,
}

impl Default for SessionAttrs {
    fn default() -> Self {
        Self {
            notify_gate: AtomicU8::new(GATE_CLOSED),
            protocol_version: Mutex::new(None),
        }
    }
}

impl SessionAttrs {
    /// Sets the lowest broadcast level this session receives.
    pub fn set_notify_gate(&self, level: u8) {
        self.notify_gate.store(level, Ordering::Release);
    }

    /// True if a broadcast at `level` reaches this session.
    pub fn admits(&self, level: u8) -> bool {
        let gate = self.notify_gate.load(Ordering::Acquire);
        gate != GATE_CLOSED && level >= gate
    }

    /// Records the negotiated protocol version.
    pub fn set_protocol_version(&self, version: &'static str) {
        *self.protocol_version.lock() = Some(version);
    }

    /// The negotiated protocol version, once known.
    pub fn protocol_version(&self) -> Option<&'static str> {
        *self.protocol_version.lock()
    }
}
