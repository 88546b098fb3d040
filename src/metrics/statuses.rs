//! HTTP answers by status: a fixed table of atomic counters, one per status
//! the transport gives (see `transport::http::service`), so counting an
//! answer is one atomic add.

use crate::sync::{Ordering, Tally};

/// The statuses counted one by one; any other is counted as `other`
/// (hyper's own answers, such as 431 for headers over the limit, never
/// reach the service and are not counted here).
pub(crate) const STATUSES: [u16; 14] = [200, 202, 400, 403, 404, 405, 406, 408, 409, 413, 415, 500, 503, 0];

/// HTTP answers by status.
#[derive(Debug)]
pub(crate) struct StatusCounts {
    counts: [Tally; STATUSES.len()],
}

impl Default for StatusCounts {
    fn default() -> Self {
        Self {
            counts: std::array::from_fn(|_| Tally::new(0)),
        }
    }
}

impl StatusCounts {
    /// Counts one answer with `status`.
    pub(crate) fn record(&self, status: u16) {
        let at = STATUSES[..STATUSES.len() - 1]
            .iter()
            .position(|s| *s == status)
            .unwrap_or(STATUSES.len() - 1);
        self.counts[at].fetch_add(1, Ordering::Relaxed);
    }

    /// Each status's label (`other` for the rest) and count.
    pub(crate) fn read(&self) -> impl Iterator<Item = (String, u64)> + '_ {
        STATUSES.iter().zip(&self.counts).map(|(status, count)| {
            let label = if *status == 0 {
                "other".to_owned()
            } else {
                status.to_string()
            };
            (label, count.load(Ordering::Relaxed))
        })
    }
}

#[cfg(test)]
#[cfg(not(shuttle))]
mod tests {
    use super::*;

    #[test]
    fn known_statuses_are_counted_apart_and_the_rest_as_other() {
        let counts = StatusCounts::default();
        counts.record(200);
        counts.record(200);
        counts.record(503);
        counts.record(418);
        let read: Vec<(String, u64)> = counts.read().filter(|(_, n)| *n > 0).collect();
        assert_eq!(
            read,
            vec![("200".into(), 2), ("503".into(), 1), ("other".into(), 1)]
        );
    }
}
