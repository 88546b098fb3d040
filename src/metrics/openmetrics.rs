//! The server's metrics in the OpenMetrics text format (which Prometheus
//! scrapes), encoded by the `prometheus-client` crate from a [`Reading`]
//! taken at the moment of the scrape: every metric's name, help and type
//! is here. Every name starts with `mcp_`; counters end in `_total`, as
//! OpenMetrics requires.
//!
//! Nothing here is on the request path: the counters are the atomics the
//! server keeps anyway; the server takes a reading (one walk of the session
//! registry for the per-version session counts and queue depths) and this
//! encodes it.

use std::collections::BTreeMap;
use std::fmt;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};

use super::requests::{METHODS, Outcome, TIMED};
use super::{BusMetrics, Metrics, MetricsSnapshot};
use crate::sync::Arc;

/// The content type of the encoded text.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What one scrape reports: the counters and what the server reads of
/// itself at that moment.
#[derive(Debug)]
pub(crate) struct Reading {
    /// The counters, as a snapshot.
    pub(crate) counters: MetricsSnapshot,
    /// The live counters, for requests by method and outcome, handler
    /// latencies and HTTP statuses.
    pub(crate) metrics: Arc<Metrics>,
    /// Live sessions by protocol version (`none`: not yet known).
    pub(crate) sessions_by_version: BTreeMap<&'static str, u64>,
    /// Messages waiting in all outboxes.
    pub(crate) queued: u64,
    /// Messages waiting in the fullest outbox.
    pub(crate) deepest: u64,
    /// Session permits free.
    pub(crate) permits_available: u64,
    /// `max_sessions`.
    pub(crate) permits: u64,
    /// Stateless-request permits free.
    pub(crate) request_permits_available: u64,
    /// `max_concurrent_requests`.
    pub(crate) request_permits: u64,
    /// Listen streams open.
    pub(crate) listen_streams: u64,
    /// Tasks held.
    pub(crate) tasks: u64,
    /// True once shutdown has begun.
    pub(crate) shutting_down: bool,
    /// The shared event bus's counters, when there is one.
    pub(crate) bus: Option<BusMetrics>,
}

impl Reading {
    /// The reading as OpenMetrics text.
    pub(crate) fn encode(self) -> String {
        let mut registry = Registry::with_prefix("mcp");
        registry.register_collector(Box::new(self));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry)
            .expect("writing to a String does not fail");
        text
    }
}

fn counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> fmt::Result {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> fmt::Result {
    let metric = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for Reading {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let r = self;
        let m = &r.counters;
        let e = &mut encoder;

        let counters: [(&str, &str, u64); 22] = [
            (
                "sessions_admitted",
                "Sessions admitted since start.",
                m.sessions_admitted,
            ),
            (
                "sessions_rejected",
                "Sessions refused at max_sessions or during shutdown.",
                m.sessions_rejected,
            ),
            (
                "sessions_evicted",
                "Idle HTTP sessions ended to admit a new client at max_sessions or at its caller's quota.",
                m.sessions_evicted,
            ),
            ("messages_sent", "Messages written to clients.", m.messages_sent),
            (
                "messages_dropped",
                "Messages dropped (a full outbox, or their session or stream gone).",
                m.messages_dropped,
            ),
            (
                "messages_invalid",
                "Inbound messages that were not JSON-RPC or over the size limit.",
                m.messages_invalid,
            ),
            (
                "requests_received",
                "Requests received (each ends in one outcome of mcp_requests).",
                m.requests_total,
            ),
            (
                "requests_rejected",
                "Stateless requests refused at max_concurrent_requests.",
                m.requests_rejected,
            ),
            (
                "responses_unmatched",
                "Client responses to no waiting request.",
                m.responses_unmatched,
            ),
            (
                "tasks_rejected",
                "Tasks refused at max_tasks or during shutdown.",
                m.tasks_rejected,
            ),
            (
                "accept_errors",
                "Errors from accept (each retried).",
                m.accept_errors,
            ),
            (
                "handshake_timeouts",
                "TCP clients cut off for not initializing within handshake_timeout.",
                m.handshake_timeouts,
            ),
            (
                "http_connections",
                "HTTP connections accepted.",
                m.http_connections_accepted,
            ),
            (
                "http_connections_rejected",
                "HTTP connections refused at max_connections.",
                m.connections_rejected,
            ),
            (
                "http_header_timeouts",
                "HTTP connections closed for headers slower than header_read_timeout.",
                m.http_header_timeouts,
            ),
            (
                "http_clients_vanished",
                "HTTP clients noticed gone while their pipelined requests were unread.",
                m.http_clients_vanished,
            ),
            (
                "http_body_timeouts",
                "HTTP requests answered 408 for a body slower than body_read_timeout.",
                m.http_body_timeouts,
            ),
            (
                "write_stalls",
                "Connections closed for a write that made no progress within write_stall_timeout.",
                m.write_stalls,
            ),
            (
                "replay_lost",
                "Events a Last-Event-ID replay asked for that were no longer kept.",
                m.replay_lost,
            ),
            (
                "http_streams_followed",
                "Request streams resumed on another replica and followed there from the event store.",
                m.http_streams_followed,
            ),
            (
                "sessions_resumed",
                "HTTP sessions taken up from the session store by this process.",
                m.sessions_resumed,
            ),
            (
                "store_failures",
                "Requests answered 503 because the session store failed or was late.",
                m.store_failures,
            ),
        ];
        for (name, help, value) in counters {
            counter(e, name, help, value)?;
        }

        let stats = &r.metrics.requests;
        let mut family = e.encode_descriptor(
            "requests",
            "Requests that ended, by method and outcome.",
            None,
            MetricType::Counter,
        )?;
        for (index, method) in METHODS.iter().enumerate() {
            for outcome in Outcome::ALL {
                let labels = [("method", *method), ("outcome", outcome.name())];
                ConstCounter::new(stats.count(index, outcome)).encode(family.encode_family(&labels)?)?;
            }
        }

        let mut family = e.encode_descriptor(
            "handler_duration",
            "How long handler calls took, from dispatch to the answer queued.",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for (timed, method) in TIMED.iter().enumerate() {
            let (sum, count, buckets) = stats.latency(timed).read();
            family
                .encode_family(&[("method", *method)])?
                .encode_histogram::<NoLabelSet>(sum, count, &buckets, None)?;
        }

        let mut family = e.encode_descriptor(
            "http_responses",
            "HTTP answers of the MCP endpoint, by status.",
            None,
            MetricType::Counter,
        )?;
        for (status, count) in r.metrics.http_statuses.read() {
            ConstCounter::new(count).encode(family.encode_family(&[("status", status)])?)?;
        }

        let mut family = e.encode_descriptor(
            "sessions",
            "Live sessions (TCP and stdio connections, 2025 HTTP sessions, listen streams), by protocol version (none: not yet known).",
            None,
            MetricType::Gauge,
        )?;
        for (version, count) in &r.sessions_by_version {
            ConstGauge::new(*count as i64)
                .encode(family.encode_family(&[("protocol_version", *version)])?)?;
        }

        let gauges: [(&str, &str, u64); 14] = [
            (
                "requests_in_flight",
                "Requests running now.",
                m.requests_in_flight,
            ),
            (
                "admission_permits_available",
                "Session permits free (of max_sessions).",
                r.permits_available,
            ),
            ("admission_permits", "max_sessions.", r.permits),
            (
                "request_permits_available",
                "Stateless-request permits free (of max_concurrent_requests).",
                r.request_permits_available,
            ),
            ("request_permits", "max_concurrent_requests.", r.request_permits),
            (
                "http_connections_open",
                "HTTP connections open now.",
                m.http_connections_open,
            ),
            (
                "outbox_queued_messages",
                "Messages waiting in all sessions' outboxes.",
                r.queued,
            ),
            (
                "outbox_deepest_queue",
                "Messages waiting in the fullest outbox.",
                r.deepest,
            ),
            (
                "listen_streams",
                "subscriptions/listen streams open now.",
                r.listen_streams,
            ),
            ("tasks", "Tasks held now (tasks extension).", r.tasks),
            (
                "client_requests_pending",
                "Requests to clients (elicitation, sampling, roots) waiting for their answers.",
                m.client_requests_pending,
            ),
            (
                "http_streams_parked",
                "HTTP request streams closed by their handler, waiting to be resumed.",
                m.http_streams_parked,
            ),
            (
                "http_standalone_streams",
                "2025 HTTP sessions' standalone (GET) streams open now.",
                m.http_standalone_streams,
            ),
            (
                "shutting_down",
                "1 once shutdown has begun.",
                u64::from(r.shutting_down),
            ),
        ];
        for (name, help, value) in gauges {
            gauge(e, name, help, value)?;
        }

        if let Some(bus) = r.bus {
            let bus_counters: [(&str, &str, u64); 6] = [
                (
                    "bus_published",
                    "Events published on the shared event bus.",
                    bus.published,
                ),
                (
                    "bus_publish_failed",
                    "Events that could not be published (other replicas missed them).",
                    bus.publish_failed,
                ),
                (
                    "bus_received",
                    "Events of other replicas read from the bus.",
                    bus.received,
                ),
                (
                    "bus_delivered",
                    "Copies of other replicas' events queued on listen streams.",
                    bus.delivered,
                ),
                (
                    "bus_invalid",
                    "Messages on the bus's channel that were not events.",
                    bus.invalid,
                ),
                (
                    "bus_subscription_losses",
                    "Times the bus subscription was lost.",
                    bus.subscription_losses,
                ),
            ];
            for (name, help, value) in bus_counters {
                counter(e, name, help, value)?;
            }
            gauge(
                e,
                "bus_subscribed",
                "1 while subscribed to the bus.",
                u64::from(bus.subscribed),
            )?;
            gauge(
                e,
                "bus_publishing",
                "1 while connected to publish on the bus.",
                u64::from(bus.publishing),
            )?;
        }
        Ok(())
    }
}
