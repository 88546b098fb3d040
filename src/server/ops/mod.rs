//! Operating a server: the drain that ends every `serve_*` with a
//! [`ShutdownReport`](crate::server::ShutdownReport), and the server's
//! reading of itself for a metrics scrape (encoded by
//! `crate::metrics::openmetrics`).

pub(crate) mod drain;
#[cfg(all(feature = "metrics", not(shuttle)))]
pub(crate) mod exporter;
