// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! A lock-free latency histogram: fixed buckets of relaxed atomics, cheap enough to observe
//! every packet (prometheus-client's own `Histogram` takes a lock per observation).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// Upper bounds of the buckets, in nanoseconds: 1 µs to 100 ms, roughly 1-2.5-5 per decade.
const BOUNDS_NS: [u64; 16] = [
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
];

#[derive(Debug, Default)]
struct Inner {
    /// Per-bucket (not cumulative) counts; the last one is `+Inf`.
    buckets: [AtomicU64; BOUNDS_NS.len() + 1],
    sum_ns: AtomicU64,
}

/// A histogram of durations in seconds; clones share the counts.
#[derive(Debug, Default, Clone)]
pub(crate) struct LatencyHistogram(Arc<Inner>);

impl LatencyHistogram {
    /// Records `n` observations of `ns` nanoseconds.
    pub(crate) fn observe_ns(&self, ns: u64, n: u64) {
        let i = BOUNDS_NS.partition_point(|&b| b < ns);
        self.0.buckets[i].fetch_add(n, Ordering::Relaxed);
        self.0
            .sum_ns
            .fetch_add(ns.saturating_mul(n), Ordering::Relaxed);
    }

    /// How many observations were recorded.
    #[cfg(test)]
    pub(crate) fn count(&self) -> u64 {
        self.0
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .sum()
    }
}

impl TypedMetric for LatencyHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for LatencyHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        // The encoder accumulates the per-bucket counts itself.
        let mut total = 0;
        let mut buckets = [(0.0, 0u64); BOUNDS_NS.len() + 1];
        for (i, slot) in buckets.iter_mut().enumerate() {
            let n = self.0.buckets[i].load(Ordering::Relaxed);
            total += n;
            let bound = BOUNDS_NS.get(i).map_or(f64::INFINITY, |&b| b as f64 / 1e9);
            *slot = (bound, n);
        }
        // The count is the sum of the buckets read above, so `_count` equals the `+Inf`
        // bucket even while observations race with the scrape.
        let sum = self.0.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, total, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_count_matches() {
        let h = LatencyHistogram::default();
        h.observe_ns(500, 1);
        h.observe_ns(3_000, 2);
        h.observe_ns(1_000_000_000, 1);
        assert_eq!(h.count(), 4);
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("lat", "help", h.clone());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("lat_bucket{le=\"0.000001\"} 1"), "{text}");
        assert!(text.contains("lat_bucket{le=\"0.000005\"} 3"), "{text}");
        assert!(text.contains("lat_bucket{le=\"+Inf\"} 4"), "{text}");
        assert!(text.contains("lat_count 4"), "{text}");
    }
}
