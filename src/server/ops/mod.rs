//! Operating a server: the drain that ends every `serve_*` with a
//! [`ShutdownReport`](crate::server::ShutdownReport), and the metrics
//! exporter (OpenMetrics text for a Prometheus scrape).

pub(crate) mod drain;
#[cfg(feature = "metrics")]
pub(crate) mod exporter;
