//! What a shared event bus counts (`crate::bus`), read as a snapshot.

/// Counters of a shared bus, read as a snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BusMetrics {
    /// Events this replica published on the bus.
    pub published: u64,
    /// Events this replica could not publish (the bus was down, slow or its
    /// queue full); other replicas' listeners never saw them.
    pub publish_failed: u64,
    /// Events of other replicas read from the bus.
    pub received: u64,
    /// Copies of those events queued on this replica's listen streams.
    pub delivered: u64,
    /// Messages on the bus's channel that were not events of this format
    /// (refused, delivered nowhere).
    pub invalid: u64,
    /// Times the subscription was lost after it had been made.
    pub subscription_losses: u64,
    /// True while this replica is subscribed (other replicas' events reach it).
    pub subscribed: bool,
    /// True while this replica has a connection to publish on (its events
    /// reach the others).
    pub publishing: bool,
}
