// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! End-to-end latency statistics: capture time (the sender's wall clock, carried as an NTP
//! timestamp, RFC 5905 §6, e.g. by the abs-capture-time header extension or RFC 6051
//! NTP-64) to the receiver's wall clock when a frame leaves an element. Fixed memory: a
//! histogram of fixed buckets, so that observing a frame never allocates, and quantiles are
//! read from it at the bucket resolution.

/// Bucket layout, in milliseconds: 1 ms wide below 250 ms (the range of interactive
/// latency), 10 ms wide up to 1 s, 100 ms wide up to 10 s, then one overflow bucket.
const FINE_END_MS: u64 = 250;
const MID_END_MS: u64 = 1_000;
const COARSE_END_MS: u64 = 10_000;
const FINE_BUCKETS: usize = FINE_END_MS as usize;
const MID_BUCKETS: usize = ((MID_END_MS - FINE_END_MS) / 10) as usize;
const COARSE_BUCKETS: usize = ((COARSE_END_MS - MID_END_MS) / 100) as usize;
/// Number of buckets, the overflow bucket included.
pub const BUCKETS: usize = FINE_BUCKETS + MID_BUCKETS + COARSE_BUCKETS + 1;

const NS_PER_MS: u64 = 1_000_000;

/// Bucket index of a non-negative latency in nanoseconds.
fn bucket_of(ns: u64) -> usize {
    let ms = ns / NS_PER_MS;
    if ms < FINE_END_MS {
        ms as usize
    } else if ms < MID_END_MS {
        FINE_BUCKETS + ((ms - FINE_END_MS) / 10) as usize
    } else if ms < COARSE_END_MS {
        FINE_BUCKETS + MID_BUCKETS + ((ms - MID_END_MS) / 100) as usize
    } else {
        BUCKETS - 1
    }
}

/// `[start, end)` of bucket `i` in nanoseconds (the overflow bucket ends at `u64::MAX`).
fn bucket_bounds(i: usize) -> (u64, u64) {
    let (start_ms, width_ms) = if i < FINE_BUCKETS {
        (i as u64, 1)
    } else if i < FINE_BUCKETS + MID_BUCKETS {
        (FINE_END_MS + (i - FINE_BUCKETS) as u64 * 10, 10)
    } else if i < BUCKETS - 1 {
        (
            MID_END_MS + (i - FINE_BUCKETS - MID_BUCKETS) as u64 * 100,
            100,
        )
    } else {
        return (COARSE_END_MS * NS_PER_MS, u64::MAX);
    };
    (start_ms * NS_PER_MS, (start_ms + width_ms) * NS_PER_MS)
}

/// Latency of frames from their capture, in nanoseconds: count, last, minimum, maximum and a
/// fixed histogram for quantiles. A negative latency (the capture time is ahead of the
/// receiver's clock: the two wall clocks disagree) is kept in `last`/`min` and counted in the
/// first bucket and in [`Self::negative`].
#[derive(Debug, Clone)]
pub struct CaptureLatency {
    count: u64,
    negative: u64,
    last: i64,
    min: i64,
    max: i64,
    buckets: Box<[u32; BUCKETS]>,
}

impl Default for CaptureLatency {
    fn default() -> Self {
        CaptureLatency {
            count: 0,
            negative: 0,
            last: 0,
            min: i64::MAX,
            max: i64::MIN,
            buckets: Box::new([0; BUCKETS]),
        }
    }
}

impl CaptureLatency {
    /// Records one frame that left `latency_ns` after its capture.
    pub fn observe(&mut self, latency_ns: i64) {
        self.count = self.count.saturating_add(1);
        self.last = latency_ns;
        self.min = self.min.min(latency_ns);
        self.max = self.max.max(latency_ns);
        if latency_ns < 0 {
            self.negative = self.negative.saturating_add(1);
        }
        let slot = &mut self.buckets[bucket_of(latency_ns.max(0) as u64)];
        *slot = slot.saturating_add(1);
    }

    /// Frames observed.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Frames whose capture time was ahead of the receiver's clock.
    pub fn negative(&self) -> u64 {
        self.negative
    }

    /// Latency of the last frame (0 before any).
    pub fn last(&self) -> i64 {
        self.last
    }

    /// Smallest latency seen (0 before any).
    pub fn min(&self) -> i64 {
        if self.count == 0 { 0 } else { self.min }
    }

    /// Largest latency seen (0 before any).
    pub fn max(&self) -> i64 {
        if self.count == 0 { 0 } else { self.max }
    }

    /// The `q`-quantile (0 ≤ q ≤ 1) in nanoseconds, interpolated inside its bucket (1 ms
    /// resolution below 250 ms) and kept within [min, max]; 0 before any frame.
    pub fn quantile(&self, q: f64) -> i64 {
        let total: u64 = self.buckets.iter().map(|&n| u64::from(n)).sum();
        if total == 0 {
            return 0;
        }
        if q <= 0.0 {
            return self.min();
        }
        if q >= 1.0 {
            return self.max();
        }
        // The rank of the wanted observation, 1-based.
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).clamp(1, total);
        let mut below = 0u64;
        for (i, &n) in self.buckets.iter().enumerate() {
            let n = u64::from(n);
            if n == 0 || below + n < rank {
                below += n;
                continue;
            }
            let (start, end) = bucket_bounds(i);
            let end = end.min(self.max.max(0) as u64 + 1).max(start);
            // The observations of a bucket spread evenly over it.
            let within = (rank - below) as f64 - 0.5;
            let value = start as f64 + (end - start) as f64 * within / n as f64;
            return (value as i64).clamp(self.min(), self.max());
        }
        self.max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    #[test]
    fn buckets_cover_every_latency_in_order() {
        let mut previous_end = 0;
        for i in 0..BUCKETS {
            let (start, end) = bucket_bounds(i);
            assert_eq!(
                start, previous_end,
                "bucket {i} starts where the previous one ends"
            );
            assert!(end > start);
            assert_eq!(bucket_of(start), i);
            assert_eq!(bucket_of(end - 1), i);
            previous_end = end;
        }
        assert_eq!(previous_end, u64::MAX);
        assert_eq!(bucket_of(249 * MS as u64 + 999_999), 249);
        assert_eq!(bucket_of(250 * MS as u64), 250);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn empty_statistics_are_zero() {
        let l = CaptureLatency::default();
        assert_eq!((l.count(), l.last(), l.min(), l.max()), (0, 0, 0, 0));
        assert_eq!(l.quantile(0.5), 0);
    }

    #[test]
    fn median_and_p95_of_uniform_latencies() {
        // 40.0, 40.1, ... 59.9 ms: median 50 ms, 95th percentile 59 ms.
        let mut l = CaptureLatency::default();
        for i in 0..200 {
            l.observe(40 * MS + i * MS / 10);
        }
        assert_eq!(l.count(), 200);
        assert_eq!(l.min(), 40 * MS);
        assert_eq!(l.max(), 59 * MS + 9 * MS / 10);
        assert!(
            (l.quantile(0.5) - 50 * MS).abs() <= MS / 2,
            "{}",
            l.quantile(0.5)
        );
        assert!(
            (l.quantile(0.95) - 59 * MS).abs() <= MS,
            "{}",
            l.quantile(0.95)
        );
        assert_eq!(l.quantile(0.0), l.min());
        assert_eq!(l.quantile(1.0), l.max());
    }

    #[test]
    fn a_single_value_is_every_quantile() {
        let mut l = CaptureLatency::default();
        l.observe(123_456_789);
        for q in [0.0, 0.5, 0.95, 1.0] {
            assert_eq!(l.quantile(q), 123_456_789);
        }
    }

    #[test]
    fn coarse_and_overflow_buckets() {
        let mut l = CaptureLatency::default();
        l.observe(600 * MS);
        l.observe(5_000 * MS);
        l.observe(60_000 * MS);
        assert_eq!(l.max(), 60_000 * MS);
        let median = l.quantile(0.5);
        assert!((5_000 * MS..5_100 * MS).contains(&median), "{median}");
        assert_eq!(l.quantile(1.0), 60_000 * MS);
    }

    #[test]
    fn negative_latency_is_counted_not_lost() {
        let mut l = CaptureLatency::default();
        l.observe(-3 * MS);
        l.observe(10 * MS);
        assert_eq!(l.negative(), 1);
        assert_eq!(l.min(), -3 * MS);
        assert_eq!(l.last(), 10 * MS);
        assert_eq!(l.count(), 2);
        assert!(l.quantile(0.0) >= -3 * MS);
    }
}
