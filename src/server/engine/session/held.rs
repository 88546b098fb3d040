//! Answers held for a transport that writes them itself (stdio and TCP),
//! instead of queued in the session's outbox.
//!
//! An answer is held only while nothing is queued in the outbox, so every
//! held answer comes before everything queued; the transport writes what
//! is held before what it takes from the outbox. A held answer is the
//! same [`Envelope`] a queued one is: written and counted as sent, or
//! counted as dropped if the session ends first.

use crate::core::Envelope;

/// Most answers held at once (more are queued).
pub(crate) const MAX_HELD: usize = 64;

/// Held answers, in the order they were given.
#[derive(Debug, Default)]
pub(crate) struct Held {
    /// The first (most often the only one: no allocation).
    first: Option<Envelope>,
    rest: Vec<Envelope>,
}

impl Held {
    /// True while another answer may be held.
    pub(crate) fn has_room(&self) -> bool {
        self.first.is_none() || self.rest.len() + 1 < MAX_HELD
    }

    /// True when nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    /// Holds `envelope` after the others.
    pub(crate) fn push(&mut self, envelope: Envelope) {
        match self.first {
            None => self.first = Some(envelope),
            Some(_) => self.rest.push(envelope),
        }
    }

    /// Everything held, the first apart, leaving nothing held (and no
    /// memory kept).
    pub(crate) fn take(&mut self) -> Option<(Envelope, Vec<Envelope>)> {
        let first = self.first.take()?;
        Some((first, std::mem::take(&mut self.rest)))
    }
}
