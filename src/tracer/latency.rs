// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Lock-free latency histograms: fixed buckets of relaxed atomics, cheap enough to observe
//! every packet (prometheus-client's own `Histogram` takes a lock per observation), split in
//! per-writer shards so that an observation needs no locked instruction either. Two
//! bucket layouts: processing latency inside an element (µs to 100 ms) and capture-to-output
//! latency across the network (ms to 10 s).

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// A bucket layout: the upper bounds of the buckets in nanoseconds, increasing.
pub(crate) trait Bounds: std::fmt::Debug + Send + Sync + 'static {
    /// At most [`MAX_BUCKETS`] − 1 bounds (the last bucket is `+Inf`).
    const NS: &'static [u64];
}

/// Processing latency: 1 µs to 100 ms, roughly 1-2.5-5 per decade.
#[derive(Debug, Default)]
pub(crate) struct Processing;

impl Bounds for Processing {
    const NS: &'static [u64] = &PROCESSING_NS;
}

/// Capture → output latency (a network and a jitterbuffer in between): 1 ms to 10 s.
#[derive(Debug, Default)]
pub(crate) struct Capture;

impl Bounds for Capture {
    const NS: &'static [u64] = &CAPTURE_NS;
}

const MS: u64 = 1_000_000;
const CAPTURE_NS: [u64; 20] = [
    MS,
    5 * MS,
    10 * MS,
    20 * MS,
    30 * MS,
    40 * MS,
    50 * MS,
    75 * MS,
    100 * MS,
    150 * MS,
    200 * MS,
    250 * MS,
    300 * MS,
    400 * MS,
    500 * MS,
    750 * MS,
    1_000 * MS,
    2_000 * MS,
    5_000 * MS,
    10_000 * MS,
];

/// Buckets of a histogram at most (bounds and `+Inf`).
const MAX_BUCKETS: usize = 24;

const PROCESSING_NS: [u64; 16] = [
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

/// Per-bucket (not cumulative) counts and the sum of one set of observations.
#[derive(Debug, Default)]
struct Cells {
    /// Bucket `B::NS.len()` is `+Inf`, those after unused.
    buckets: [AtomicU64; MAX_BUCKETS],
    sum_ns: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    /// Observations made with atomic adds, and those of dropped shards.
    base: Cells,
    /// The live shards (see [`HistogramShard`]); locked when a shard comes or goes and
    /// while a scrape reads, never per observation.
    shards: Mutex<Vec<Arc<Cells>>>,
}

impl Inner {
    fn shards(&self) -> MutexGuard<'_, Vec<Arc<Cells>>> {
        self.shards.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A histogram of durations in seconds with the buckets of `B`; clones share the counts.
#[derive(Debug)]
pub(crate) struct Histogram<B: Bounds>(Arc<Inner>, PhantomData<B>);

/// Processing latency of our elements.
pub(crate) type LatencyHistogram = Histogram<Processing>;
/// Capture → output latency.
pub(crate) type CaptureHistogram = Histogram<Capture>;

impl<B: Bounds> Default for Histogram<B> {
    fn default() -> Self {
        const { assert!(B::NS.len() < MAX_BUCKETS) };
        Histogram(Arc::default(), PhantomData)
    }
}

impl<B: Bounds> Clone for Histogram<B> {
    fn clone(&self) -> Self {
        Histogram(self.0.clone(), PhantomData)
    }
}

impl<B: Bounds> Histogram<B> {
    /// Records `n` observations of `ns` nanoseconds (atomic adds: any thread).
    pub(crate) fn observe_ns(&self, ns: u64, n: u64) {
        let i = B::NS.partition_point(|&b| b < ns);
        self.0.base.buckets[i].fetch_add(n, Ordering::Relaxed);
        self.0
            .base
            .sum_ns
            .fetch_add(ns.saturating_mul(n), Ordering::Relaxed);
    }

    /// A part of this histogram for one writer at a time (plain loads and stores per
    /// observation, no locked instruction); its counts stay in the histogram after it drops.
    pub(crate) fn shard(&self) -> HistogramShard<B> {
        let cells = Arc::new(Cells::default());
        self.0.shards().push(cells.clone());
        HistogramShard {
            cells,
            histogram: self.clone(),
        }
    }

    /// How many observations were recorded.
    #[cfg(test)]
    pub(crate) fn count(&self) -> u64 {
        let shards = self.0.shards();
        (0..=B::NS.len())
            .map(|i| {
                std::iter::once(&self.0.base)
                    .chain(shards.iter().map(|c| &**c))
                    .map(|c| c.buckets[i].load(Ordering::Relaxed))
                    .sum::<u64>()
            })
            .sum()
    }
}

/// One writer's part of a [`Histogram`] (see [`Histogram::shard`]): the tracer keeps one
/// per source pad of an element, under the pad's lock, so an observation costs no locked
/// instruction; a scrape sums the shards.
#[derive(Debug)]
pub(crate) struct HistogramShard<B: Bounds> {
    cells: Arc<Cells>,
    histogram: Histogram<B>,
}

/// Processing latency, one pad's part.
pub(crate) type LatencyShard = HistogramShard<Processing>;

impl<B: Bounds> HistogramShard<B> {
    /// Records `n` observations of `ns` nanoseconds. One caller at a time (a racing second
    /// caller would lose counts, nothing worse): the tracer calls it under the pad's lock.
    #[inline]
    pub(crate) fn observe_ns(&self, ns: u64, n: u64) {
        let i = B::NS.partition_point(|&b| b < ns);
        let add = |cell: &AtomicU64, v: u64| {
            cell.store(
                cell.load(Ordering::Relaxed).wrapping_add(v),
                Ordering::Relaxed,
            )
        };
        add(&self.cells.buckets[i], n);
        add(&self.cells.sum_ns, ns.saturating_mul(n));
    }
}

impl<B: Bounds> Drop for HistogramShard<B> {
    fn drop(&mut self) {
        // Fold the counts into the base, under the list lock a scrape also holds.
        let inner = &self.histogram.0;
        let mut shards = inner.shards();
        shards.retain(|c| !Arc::ptr_eq(c, &self.cells));
        for (base, own) in inner.base.buckets.iter().zip(&self.cells.buckets) {
            base.fetch_add(own.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        inner
            .base
            .sum_ns
            .fetch_add(self.cells.sum_ns.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

impl<B: Bounds> TypedMetric for Histogram<B> {
    const TYPE: MetricType = MetricType::Histogram;
}

impl<B: Bounds> EncodeMetric for Histogram<B> {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        // The encoder accumulates the per-bucket counts itself. The shard list stays locked
        // while reading, so a shard's counts are read either in it or folded into the base.
        let shards = self.0.shards();
        let all = || std::iter::once(&self.0.base).chain(shards.iter().map(|c| &**c));
        let mut total = 0;
        let mut buckets = [(0.0, 0u64); MAX_BUCKETS];
        let buckets = &mut buckets[..=B::NS.len()];
        for (i, slot) in buckets.iter_mut().enumerate() {
            let n: u64 = all().map(|c| c.buckets[i].load(Ordering::Relaxed)).sum();
            total += n;
            let bound = B::NS.get(i).map_or(f64::INFINITY, |&b| b as f64 / 1e9);
            *slot = (bound, n);
        }
        // The count is the sum of the buckets read above, so `_count` equals the `+Inf`
        // bucket even while observations race with the scrape.
        let sum_ns: u64 = all().map(|c| c.sum_ns.load(Ordering::Relaxed)).sum();
        let sum = sum_ns as f64 / 1e9;
        drop(shards);
        encoder.encode_histogram::<NoLabelSet>(sum, total, buckets, None)
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

    #[test]
    fn shards_add_up_and_their_counts_stay_after_they_drop() {
        let h = LatencyHistogram::default();
        h.observe_ns(500, 1);
        let a = h.shard();
        let b = h.shard();
        a.observe_ns(3_000, 2);
        b.observe_ns(3_000, 1);
        b.observe_ns(200_000_000, 1);
        assert_eq!(h.count(), 5);
        drop(a);
        assert_eq!(h.count(), 5, "a dropped shard's counts stay");
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("lat", "help", h.clone());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("lat_bucket{le=\"0.000005\"} 4"), "{text}");
        assert!(text.contains("lat_bucket{le=\"+Inf\"} 5"), "{text}");
        assert!(text.contains("lat_sum 0.2000095"), "{text}");
        drop(b);
        assert_eq!(h.count(), 5);
        assert!(h.0.shards().is_empty());
    }

    #[test]
    fn capture_buckets_from_milliseconds_to_seconds() {
        let h = CaptureHistogram::default();
        h.observe_ns(45 * MS, 1);
        h.observe_ns(20_000 * MS, 1);
        assert_eq!(h.count(), 2);
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("cap", "help", h.clone());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(text.contains("cap_bucket{le=\"0.04\"} 0"), "{text}");
        assert!(text.contains("cap_bucket{le=\"0.05\"} 1"), "{text}");
        assert!(text.contains("cap_bucket{le=\"10.0\"} 1"), "{text}");
        assert!(text.contains("cap_bucket{le=\"+Inf\"} 2"), "{text}");
        assert_eq!(text.matches("cap_bucket").count(), 21, "{text}");
    }
}
