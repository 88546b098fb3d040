//! What a run measured, and how it is printed.

use serde::Serialize;

/// Percentiles of a set of durations, in microseconds.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Percentiles {
    pub(crate) count: usize,
    pub(crate) p50_us: u64,
    pub(crate) p90_us: u64,
    pub(crate) p99_us: u64,
    pub(crate) max_us: u64,
    pub(crate) mean_us: f64,
    /// `[q, microseconds]` at q = 0.01, 0.02, .., 0.99, 0.999: the
    /// distribution, for plotting.
    pub(crate) quantiles: Vec<(f64, u64)>,
}

impl Percentiles {
    pub(crate) fn of(mut samples: Vec<u64>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Self {
            count: samples.len(),
            p50_us: at(0.50),
            p90_us: at(0.90),
            p99_us: at(0.99),
            max_us: *samples.last().expect("not empty"),
            mean_us: samples.iter().sum::<u64>() as f64 / samples.len() as f64,
            quantiles: (1..100)
                .map(|i| f64::from(i) / 100.0)
                .chain([0.999])
                .map(|q| (q, at(q)))
                .collect(),
        }
    }
}

/// What a run measured.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) label: Option<String>,
    pub(crate) transport: String,
    pub(crate) protocol: String,
    pub(crate) concurrency: usize,
    pub(crate) sessions_admitted: usize,
    pub(crate) sessions_rejected: usize,
    pub(crate) sessions_failed: usize,
    pub(crate) connect: Percentiles,
    pub(crate) requests_ok: u64,
    pub(crate) requests_failed: u64,
    pub(crate) elapsed_s: f64,
    pub(crate) requests_per_s: f64,
    pub(crate) latency: Percentiles,
    pub(crate) first_error: Option<String>,
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |us: u64| us as f64 / 1000.0;
        write!(
            f,
            "p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            ms(self.p50_us),
            ms(self.p90_us),
            ms(self.p99_us),
            ms(self.max_us)
        )
    }
}

pub(crate) fn print_report(r: &Report) {
    println!(
        "sessions: {} admitted, {} rejected, {} failed (of {}, over {})",
        r.sessions_admitted, r.sessions_rejected, r.sessions_failed, r.concurrency, r.transport
    );
    println!("connect to first response: {}", r.connect);
    if r.requests_ok + r.requests_failed > 0 {
        println!(
            "calls: {} ok, {} failed in {:.2} s: {:.0} requests/s",
            r.requests_ok, r.requests_failed, r.elapsed_s, r.requests_per_s
        );
    }
    if r.latency.count > 0 {
        println!("latency: {}", r.latency);
    }
    if let Some(e) = &r.first_error {
        println!("first error: {e}");
    }
}
