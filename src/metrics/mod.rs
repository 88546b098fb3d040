//! Server-wide counters: atomic, lock-free, readable as a snapshot.
//!
//! Every counter only grows except `sessions_active`, `requests_in_flight`,
//! `http_connections_open`, `client_requests_pending`,
//! `http_streams_parked` and `http_standalone_streams`, which are gauges.
//! Relaxed ordering is enough: a snapshot is a set of independent
//! readings, not a consistent cut. Requests by method and outcome, and handler latencies, are in
//! [`requests`] (outside the model builds, which never run a request);
//! HTTP answers by status in `statuses.rs`; what a shared event bus counts
//! in `bus.rs`. `openmetrics.rs` (feature `metrics`) names and encodes
//! them all for a Prometheus scrape: the one place a metric is defined.

#[cfg(not(loom))]
mod bus;
#[cfg(all(feature = "metrics", not(any(loom, shuttle))))]
pub(crate) mod openmetrics;
#[cfg(not(loom))]
pub(crate) mod requests;
#[cfg(not(loom))]
pub(crate) mod statuses;

use serde::Serialize;

#[cfg(not(loom))]
pub use bus::BusMetrics;

use crate::sync::{AtomicU64, Ordering};

/// The live counters, shared by the core and the server.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) sessions_active: AtomicU64,
    pub(crate) sessions_admitted: AtomicU64,
    pub(crate) sessions_rejected: AtomicU64,
    pub(crate) sessions_evicted: AtomicU64,
    pub(crate) messages_sent: AtomicU64,
    pub(crate) messages_dropped: AtomicU64,
    pub(crate) requests_in_flight: AtomicU64,
    pub(crate) requests_total: AtomicU64,
    pub(crate) requests_cancelled: AtomicU64,
    pub(crate) requests_timed_out: AtomicU64,
    pub(crate) requests_panicked: AtomicU64,
    pub(crate) accept_errors: AtomicU64,
    pub(crate) requests_rejected: AtomicU64,
    pub(crate) connections_rejected: AtomicU64,
    pub(crate) replay_lost: AtomicU64,
    pub(crate) http_streams_followed: AtomicU64,
    pub(crate) sessions_resumed: AtomicU64,
    pub(crate) store_failures: AtomicU64,
    pub(crate) responses_unmatched: AtomicU64,
    pub(crate) tasks_rejected: AtomicU64,
    pub(crate) handshake_timeouts: AtomicU64,
    pub(crate) http_header_timeouts: AtomicU64,
    pub(crate) http_body_timeouts: AtomicU64,
    pub(crate) write_stalls: AtomicU64,
    pub(crate) messages_invalid: AtomicU64,
    pub(crate) http_connections_accepted: AtomicU64,
    pub(crate) http_connections_open: AtomicU64,
    pub(crate) http_clients_vanished: AtomicU64,
    pub(crate) client_requests_pending: AtomicU64,
    pub(crate) http_streams_parked: AtomicU64,
    pub(crate) http_standalone_streams: AtomicU64,
    /// Requests by method and outcome; handler latencies.
    #[cfg(not(loom))]
    pub(crate) requests: requests::RequestStats,
    /// HTTP answers by status.
    #[cfg(not(loom))]
    pub(crate) http_statuses: statuses::StatusCounts,
}

/// Adds one to a counter.
pub(crate) fn incr(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Subtracts one from a gauge.
pub(crate) fn decr(counter: &AtomicU64) {
    counter.fetch_sub(1, Ordering::Relaxed);
}

impl Metrics {
    /// Reads every counter.
    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MetricsSnapshot {
            sessions_active: read(&self.sessions_active),
            sessions_admitted: read(&self.sessions_admitted),
            sessions_rejected: read(&self.sessions_rejected),
            sessions_evicted: read(&self.sessions_evicted),
            messages_sent: read(&self.messages_sent),
            messages_dropped: read(&self.messages_dropped),
            requests_in_flight: read(&self.requests_in_flight),
            requests_total: read(&self.requests_total),
            requests_cancelled: read(&self.requests_cancelled),
            requests_timed_out: read(&self.requests_timed_out),
            requests_panicked: read(&self.requests_panicked),
            accept_errors: read(&self.accept_errors),
            requests_rejected: read(&self.requests_rejected),
            connections_rejected: read(&self.connections_rejected),
            replay_lost: read(&self.replay_lost),
            http_streams_followed: read(&self.http_streams_followed),
            sessions_resumed: read(&self.sessions_resumed),
            store_failures: read(&self.store_failures),
            responses_unmatched: read(&self.responses_unmatched),
            tasks_rejected: read(&self.tasks_rejected),
            handshake_timeouts: read(&self.handshake_timeouts),
            http_header_timeouts: read(&self.http_header_timeouts),
            http_body_timeouts: read(&self.http_body_timeouts),
            write_stalls: read(&self.write_stalls),
            messages_invalid: read(&self.messages_invalid),
            http_connections_accepted: read(&self.http_connections_accepted),
            http_connections_open: read(&self.http_connections_open),
            http_clients_vanished: read(&self.http_clients_vanished),
            client_requests_pending: read(&self.client_requests_pending),
            http_streams_parked: read(&self.http_streams_parked),
            http_standalone_streams: read(&self.http_standalone_streams),
        }
    }
}

/// A reading of the server's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// Sessions registered now.
    pub sessions_active: u64,
    /// Connections admitted since start.
    pub sessions_admitted: u64,
    /// Connections refused because the server was at capacity or shutting down.
    pub sessions_rejected: u64,
    /// Idle HTTP sessions ended to admit a new client at `max_sessions` (or
    /// at its caller's quota).
    pub sessions_evicted: u64,
    /// Messages written to clients.
    pub messages_sent: u64,
    /// Messages dropped: a full outbox, still queued when a session ended, or
    /// a reply abandoned because its session ended first.
    pub messages_dropped: u64,
    /// Requests running now.
    pub requests_in_flight: u64,
    /// Requests received since start.
    pub requests_total: u64,
    /// Requests cancelled by the client, a disconnect or shutdown.
    pub requests_cancelled: u64,
    /// Requests cancelled because they ran past `request_timeout`.
    pub requests_timed_out: u64,
    /// Requests whose handler panicked.
    pub requests_panicked: u64,
    /// Errors from `accept` (each retried after a short backoff).
    pub accept_errors: u64,
    /// Stateless requests refused because `max_concurrent_requests` were running.
    pub requests_rejected: u64,
    /// HTTP connections refused because `max_connections` were open.
    pub connections_rejected: u64,
    /// Events a `Last-Event-ID` replay asked for that were no longer kept.
    pub replay_lost: u64,
    /// Request streams resumed on a replica that did not write them and
    /// followed there from the event store while their request ran on.
    pub http_streams_followed: u64,
    /// 2025 HTTP sessions this process took up from the session store (a
    /// request for a session it did not hold).
    pub sessions_resumed: u64,
    /// Requests answered 503 because the session store failed or did not
    /// answer in time.
    pub store_failures: u64,
    /// Responses from clients to no request the server is waiting on
    /// (unknown id, or the request already timed out or was cancelled).
    pub responses_unmatched: u64,
    /// Tasks (tasks extension) refused because `max_tasks` were held or the
    /// server was shutting down.
    pub tasks_rejected: u64,
    /// TCP connections closed because they sent no `initialize` (nor a
    /// 2026-07-28 request) within `handshake_timeout`.
    pub handshake_timeouts: u64,
    /// HTTP connections closed because a request's headers did not arrive
    /// within `header_read_timeout` (slowloris).
    pub http_header_timeouts: u64,
    /// HTTP requests answered 408 because their body did not arrive within
    /// `body_read_timeout`.
    pub http_body_timeouts: u64,
    /// Connections (TCP line sessions, HTTP) closed because a write to them
    /// made no progress within `write_stall_timeout` (the client stopped
    /// reading).
    pub write_stalls: u64,
    /// Messages that were not JSON-RPC (-32700, -32600) or were over the
    /// size limit, answered with an error.
    pub messages_invalid: u64,
    /// HTTP connections accepted since start (those refused at
    /// `max_connections` included).
    pub http_connections_accepted: u64,
    /// HTTP connections open now.
    pub http_connections_open: u64,
    /// HTTP clients that went away while hyper was not reading (their
    /// pipelined requests still unread), noticed by a peek at the socket;
    /// their answers were dropped and their requests cancelled.
    pub http_clients_vanished: u64,
    /// Requests the server sent to clients (elicitation, sampling, roots)
    /// still waiting for their answers.
    pub client_requests_pending: u64,
    /// HTTP request streams closed by their handler and waiting to be
    /// resumed with `Last-Event-ID` (SEP-1699 polling).
    pub http_streams_parked: u64,
    /// 2025 sessions' standalone (GET) streams open now.
    pub http_standalone_streams: u64,
}
