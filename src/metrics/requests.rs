//! Requests by method and outcome, and how long handler calls take.
//!
//! Fixed tables of atomic counters indexed by a method number, so counting
//! a request costs one lookup of its method name (a `match`) and one atomic
//! add: no map, no lock, no allocation on the request path. Every request
//! the server counts in `requests_total` ends in exactly one outcome here
//! (a request still running has none yet).
//!
//! The latency histograms cover the methods that run a handler of the
//! user's, from the dispatch of the request to its answer being queued.

use crate::protocol::method::Method;
use crate::sync::{Ordering, Tally};

/// The methods counted by name, in the order of [`Method::ALL`]; anything
/// else is counted as `other`, last.
pub(crate) const METHODS: [&str; Method::ALL.len() + 1] = {
    let mut names = ["other"; Method::ALL.len() + 1];
    let mut i = 0;
    while i < Method::ALL.len() {
        names[i] = Method::ALL[i].name();
        i += 1;
    }
    names
};

/// The methods whose handler calls are timed ([`Method::runs_handler`]),
/// in the order of [`RequestStats::latency`] (and of `timed_index`).
pub(crate) const TIMED: [&str; 4] = [
    Method::ToolsCall.name(),
    Method::ResourcesRead.name(),
    Method::PromptsGet.name(),
    Method::Complete.name(),
];

/// Upper bounds of the latency buckets, in seconds (the last bucket,
/// `+Inf`, is implied).
pub(crate) const BUCKETS_SECONDS: [f64; 17] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    10.0, 60.0,
];

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Answered with a result.
    Ok,
    /// Answered with a JSON-RPC error.
    Error,
    /// Cancelled (by the client, a disconnect or shutdown); no answer.
    Cancelled,
    /// Ran past `request_timeout`; answered with -32001.
    TimedOut,
    /// Its handler panicked; answered with -32603.
    Panicked,
}

impl Outcome {
    /// Every outcome, in table order.
    pub(crate) const ALL: [Outcome; 5] = [
        Outcome::Ok,
        Outcome::Error,
        Outcome::Cancelled,
        Outcome::TimedOut,
        Outcome::Panicked,
    ];

    /// The label value.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Cancelled => "cancelled",
            Outcome::TimedOut => "timed_out",
            Outcome::Panicked => "panicked",
        }
    }
}

/// The index of `method` in [`METHODS`] (`other` for one not listed).
pub(crate) fn method_index(method: &str) -> u8 {
    Method::parse(method).map_or(METHODS.len() - 1, Method::index) as u8
}

/// The index in [`TIMED`] of the method numbered `method`, if it is timed.
fn timed_index(method: u8) -> Option<usize> {
    match Method::ALL.get(usize::from(method))? {
        Method::ToolsCall => Some(0),
        Method::ResourcesRead => Some(1),
        Method::PromptsGet => Some(2),
        Method::Complete => Some(3),
        _ => None,
    }
}

/// One latency histogram: a count per bucket and the sum, in nanoseconds.
#[derive(Debug)]
pub(crate) struct Histogram {
    /// One per bound of [`BUCKETS_SECONDS`], then `+Inf`.
    buckets: [Tally; BUCKETS_SECONDS.len() + 1],
    sum_nanos: Tally,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            buckets: std::array::from_fn(|_| Tally::new(0)),
            sum_nanos: Tally::new(0),
        }
    }
}

impl Histogram {
    /// Counts one observation of `nanos` nanoseconds.
    pub(crate) fn observe(&self, nanos: u64) {
        let seconds = nanos as f64 / 1e9;
        let bucket = BUCKETS_SECONDS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS_SECONDS.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The sum in seconds, the count, and each bucket's own count (not
    /// cumulative) with its upper bound, `+Inf` last.
    pub(crate) fn read(&self) -> (f64, u64, Vec<(f64, u64)>) {
        let buckets: Vec<(f64, u64)> = BUCKETS_SECONDS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(&self.buckets)
            .map(|(bound, count)| (bound, count.load(Ordering::Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        (sum, count, buckets)
    }
}

/// Requests by method and outcome, and the handler latency histograms.
#[derive(Debug)]
pub(crate) struct RequestStats {
    /// `[method][outcome]`.
    counts: [[Tally; Outcome::ALL.len()]; METHODS.len()],
    /// One per [`TIMED`] method.
    latency: [Histogram; TIMED.len()],
}

impl Default for RequestStats {
    fn default() -> Self {
        Self {
            counts: std::array::from_fn(|_| std::array::from_fn(|_| Tally::new(0))),
            latency: std::array::from_fn(|_| Histogram::default()),
        }
    }
}

impl RequestStats {
    /// Counts a request of method number `method` that ended in `outcome`.
    pub(crate) fn record(&self, method: u8, outcome: Outcome) {
        let row = &self.counts[usize::from(method).min(METHODS.len() - 1)];
        row[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a handler call of method number `method` that took `nanos`
    /// (ignored for a method that is not timed).
    pub(crate) fn observe(&self, method: u8, nanos: u64) {
        if let Some(timed) = timed_index(method) {
            self.latency[timed].observe(nanos);
        }
    }

    /// How many requests of method number `method` ended in `outcome`.
    pub(crate) fn count(&self, method: usize, outcome: Outcome) -> u64 {
        self.counts[method][outcome as usize].load(Ordering::Relaxed)
    }

    /// The histogram of the [`TIMED`] method at `timed`.
    pub(crate) fn latency(&self, timed: usize) -> &Histogram {
        &self.latency[timed]
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    #[test]
    fn every_listed_method_has_its_own_index() {
        for (i, name) in METHODS.iter().enumerate().take(METHODS.len() - 1) {
            assert_eq!(usize::from(method_index(name)), i, "{name}");
        }
        assert_eq!(usize::from(method_index("no/such")), METHODS.len() - 1);
        assert_eq!(usize::from(method_index("other")), METHODS.len() - 1);
    }

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let h = Histogram::default();
        h.observe(40_000); // 40 µs: the first bucket (50 µs)
        h.observe(50_000); // on the bound: still the first
        h.observe(3_000_000); // 3 ms: the 5 ms bucket
        h.observe(120_000_000_000); // 2 minutes: +Inf
        let (sum, count, buckets) = h.read();
        assert_eq!(count, 4);
        assert!((sum - 120.00309).abs() < 1e-9, "{sum}");
        assert_eq!(buckets[0], (0.000_05, 2));
        let five_ms = buckets
            .iter()
            .position(|(b, _)| *b == 0.005)
            .expect("a 5 ms bucket");
        assert_eq!(buckets[five_ms].1, 1);
        assert_eq!(*buckets.last().expect("+Inf"), (f64::INFINITY, 1));
    }

    #[test]
    fn only_handler_methods_are_timed() {
        let stats = RequestStats::default();
        stats.observe(method_index("ping"), 1_000);
        stats.observe(method_index("tools/call"), 1_000);
        let total: u64 = (0..TIMED.len()).map(|t| stats.latency(t).read().1).sum();
        assert_eq!(total, 1);
        assert_eq!(stats.latency(0).read().1, 1);
        for method in crate::protocol::method::Method::ALL {
            let timed = timed_index(method.index() as u8);
            assert_eq!(timed.is_some(), method.runs_handler(), "{method:?}");
            assert_eq!(
                timed.map(|t| TIMED[t]),
                method.runs_handler().then(|| method.name())
            );
        }
    }
}
