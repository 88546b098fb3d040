//! The server reads itself for a metrics scrape: the counters, one walk of
//! the session registry (sessions by protocol version, queue depths), the
//! permits, listen streams, tasks and the event bus. What each metric is
//! called and how the text is encoded are in `crate::metrics::openmetrics`.

use std::collections::BTreeMap;

use crate::metrics::openmetrics::Reading;
use crate::server::ServerHandle;
use crate::sync::Arc;

impl ServerHandle {
    /// The server's metrics in the OpenMetrics text format, for a
    /// Prometheus scrape (served at `/metrics` by
    /// [`crate::Server::serve_metrics`], and on the MCP HTTP listener when
    /// `HttpConfig::metrics_endpoint` is on). Content type:
    /// [`METRICS_CONTENT_TYPE`](crate::server::METRICS_CONTENT_TYPE).
    pub fn metrics_text(&self) -> String {
        let shared = &self.shared;
        let core = &shared.core;
        let sessions = core.sessions();
        let mut sessions_by_version: BTreeMap<&'static str, u64> = BTreeMap::new();
        for session in &sessions {
            *sessions_by_version
                .entry(session.protocol_version.unwrap_or("none"))
                .or_default() += 1;
        }
        Reading {
            counters: core.metrics(),
            metrics: Arc::clone(core.metrics_ref()),
            sessions_by_version,
            queued: sessions.iter().map(|s| s.queue_depth as u64).sum(),
            deepest: sessions.iter().map(|s| s.queue_depth as u64).max().unwrap_or(0),
            permits_available: core.available_permits() as u64,
            permits: core.max_sessions() as u64,
            request_permits_available: core.available_request_permits() as u64,
            request_permits: core.max_concurrent_requests() as u64,
            listen_streams: shared.listeners.len() as u64,
            tasks: shared.tasks.len() as u64,
            shutting_down: core.is_shutting_down(),
            bus: shared.bus.metrics(),
        }
        .encode()
    }
}
