// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Per-stream series of the `rtp-metrics` tracer: one block of counters per stream (one pad,
//! SSRC and payload type), written by that stream's streaming thread only and read by the
//! HTTP thread when Prometheus scrapes. A stream's block is one allocation made when the
//! stream appears; per packet the writer does plain loads and stores (no locked instruction,
//! no shared cache line with other streams). The table of live blocks is locked only when a
//! stream comes or goes and while a scrape encodes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

use super::metrics::StreamLabels;
use super::sequence::jitter_seconds;

/// A counter with a single writer: the writer adds with a load and a store (it never races
/// another writer), readers load.
#[derive(Debug, Default)]
pub(crate) struct OwnedCounter(AtomicU64);

impl OwnedCounter {
    /// Adds `n`. Only the stream's own thread calls this (under its pad's lock).
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        let v = self.0.load(Ordering::Relaxed);
        self.0.store(v.wrapping_add(n), Ordering::Relaxed);
    }

    /// The current value.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The counters of one stream, in the order of [`COUNTERS`].
#[derive(Debug, Default)]
pub(crate) struct StreamCells {
    /// Per-stream counters, indexed like [`COUNTERS`].
    pub counters: [OwnedCounter; COUNTER_COUNT],
    /// RFC 3550 A.8 jitter in timestamp units × 16 (converted to seconds when scraped).
    jitter_q4: AtomicU64,
    /// The clock rate the jitter is in (Hz; 0 when unknown).
    clock_rate: AtomicU32,
}

/// Indexes into [`StreamCells::counters`].
pub(crate) mod idx {
    pub const PACKETS: usize = 0;
    pub const BYTES: usize = 1;
    pub const EXPECTED: usize = 2;
    pub const LOST: usize = 3;
    pub const DUPLICATES: usize = 4;
    pub const REORDERED: usize = 5;
    pub const RESTARTS: usize = 6;
    pub const MARKERS: usize = 7;
    pub const KEYFRAMES: usize = 8;
}

const COUNTER_COUNT: usize = 9;

/// Name and help of each per-stream counter, indexed like [`idx`].
const COUNTERS: [(&str, &str); COUNTER_COUNT] = [
    ("packets", "RTP packets pushed on the pad"),
    (
        "bytes",
        "Bytes of RTP packets (header and payload) pushed on the pad",
    ),
    (
        "expected_packets",
        "Packets expected from the sequence numbers (RFC 3550 A.3: extended highest sequence number increase)",
    ),
    (
        "lost_packets",
        "Packets missing in forward sequence-number gaps (RFC 3550 A.3)",
    ),
    (
        "duplicate_packets",
        "Packets whose sequence number was already seen",
    ),
    (
        "reordered_packets",
        "Packets older than the highest sequence number seen, not seen before (late; RFC 3550 A.1)",
    ),
    (
        "sequence_restarts",
        "Sequence jumps beyond RFC 3550 A.1's MAX_DROPOUT/MAX_MISORDER, treated as a new sequence",
    ),
    (
        "marker_packets",
        "Packets with the RTP marker bit set (RFC 3550 section 5.1: end of a frame for video)",
    ),
    (
        "keyframes",
        "H.264/H.265 access units (up to a marker bit) whose first slice is an IDR or IRAP NAL unit (RFC 6184, RFC 7798)",
    ),
];

impl StreamCells {
    /// Adds `n` to counter `i` (one of [`idx`]).
    #[inline]
    pub(crate) fn add(&self, i: usize, n: u64) {
        self.counters[i].add(n);
    }

    /// Publishes the stream's current A.8 jitter (`q4`: timestamp units × 16).
    #[inline]
    pub(crate) fn set_jitter(&self, q4: u64, clock_rate: u32) {
        self.jitter_q4.store(q4, Ordering::Relaxed);
        self.clock_rate.store(clock_rate, Ordering::Relaxed);
    }

    fn jitter(&self) -> f64 {
        jitter_seconds(
            self.jitter_q4.load(Ordering::Relaxed),
            self.clock_rate.load(Ordering::Relaxed),
        )
    }
}

/// The live streams' blocks, by a per-stream id (labels may repeat: two pipelines of the
/// same name; their values are summed when encoded).
#[derive(Debug, Default)]
pub(crate) struct StreamTable {
    live: Mutex<BTreeMap<u64, (StreamLabels, Arc<StreamCells>)>>,
    next_id: AtomicU64,
}

impl StreamTable {
    /// Adds a stream's block; the returned id removes it.
    pub(crate) fn insert(&self, labels: StreamLabels, cells: Arc<StreamCells>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, (labels, cells));
        id
    }

    /// Removes the block of stream `id`.
    pub(crate) fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Whether a live stream has these labels.
    #[cfg(test)]
    pub(crate) fn contains(&self, labels: &StreamLabels) -> bool {
        self.lock().values().any(|(l, _)| l == labels)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, (StreamLabels, Arc<StreamCells>)>> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Encodes the per-stream families from a [`StreamTable`].
#[derive(Debug)]
pub(crate) struct StreamCollector(pub Arc<StreamTable>);

impl Collector for StreamCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        // Read every block once, summing streams that share labels (jitter: the largest).
        let mut rows: BTreeMap<StreamLabels, ([u64; COUNTER_COUNT], f64)> = BTreeMap::new();
        for (labels, cells) in self.0.lock().values() {
            let row = rows
                .entry(labels.clone())
                .or_insert(([0; COUNTER_COUNT], 0.0));
            for (sum, c) in row.0.iter_mut().zip(&cells.counters) {
                *sum += c.get();
            }
            row.1 = row.1.max(cells.jitter());
        }
        // Sorted by name as prometheus-client sorts nothing: keep the exposition stable.
        let mut order: Vec<usize> = (0..COUNTER_COUNT).collect();
        order.sort_by_key(|&i| COUNTERS[i].0);
        for i in order {
            let (name, help) = COUNTERS[i];
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for (labels, (values, _)) in &rows {
                ConstCounter::new(values[i]).encode(metric.encode_family(labels)?)?;
            }
        }
        let mut metric = encoder.encode_descriptor(
            "interarrival_jitter",
            "RFC 3550 A.8 interarrival jitter of the stream as seen on the pad",
            Some(&Unit::Seconds),
            MetricType::Gauge,
        )?;
        for (labels, (_, jitter)) in &rows {
            ConstGauge::new(*jitter).encode(metric.encode_family(labels)?)?;
        }
        Ok(())
    }
}
