// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The metric families of the `rtp-metrics` tracer and the handles that streaming threads
//! update: each series is a set of atomics owned by one pad's stream (a clone of the
//! family's entry), so two streams never touch the same memory; a series leaves its family
//! when its handle drops (its pad or element went away).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::latency::{CaptureHistogram, LatencyHistogram};

/// Labels of a per-stream series: where the packets were seen and which stream they are.
/// All bounded: pipelines, elements and pads are finite, and the streams per pad and in
/// total are capped.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StreamLabels {
    /// Name of the top-level bin (the pipeline).
    pub pipeline: String,
    /// Name of the element owning the pad.
    pub element: String,
    /// Name of the pad the packets were pushed from.
    pub pad: String,
    /// RTP SSRC (RFC 3550 section 5.1), decimal.
    pub ssrc: u32,
    /// RTP payload type (RFC 3550 section 5.1).
    pub pt: u8,
}

/// Labels of a per-element series.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ElementLabels {
    /// Name of the top-level bin (the pipeline).
    pub pipeline: String,
    /// Name of the element.
    pub element: String,
}

/// Every family the streaming-thread hooks update, registered in one registry.
#[derive(Debug, Default)]
pub(crate) struct Families {
    packets: Family<StreamLabels, Counter>,
    bytes: Family<StreamLabels, Counter>,
    expected: Family<StreamLabels, Counter>,
    lost: Family<StreamLabels, Counter>,
    duplicates: Family<StreamLabels, Counter>,
    reordered: Family<StreamLabels, Counter>,
    restarts: Family<StreamLabels, Counter>,
    markers: Family<StreamLabels, Counter>,
    keyframes: Family<StreamLabels, Counter>,
    jitter: Family<StreamLabels, Gauge<f64, AtomicU64>>,
    latency: Family<ElementLabels, LatencyHistogram>,
    capture_latency: Family<ElementLabels, CaptureHistogram>,
    /// Packets of streams beyond the series cap, which no per-stream series counts.
    pub untracked_packets: Counter,
    /// Streams refused a series because the cap was reached.
    pub refused_streams: Counter,
    /// Streams currently holding a series.
    tracked_streams: Gauge<i64, AtomicI64>,
    /// The cap on `tracked_streams`.
    max_streams: AtomicU64,
}

impl Families {
    /// New families allowing at most `max_streams` per-stream series at once.
    pub(crate) fn new(max_streams: u64) -> Arc<Self> {
        let f = Families::default();
        f.max_streams.store(max_streams, Ordering::Relaxed);
        Arc::new(f)
    }

    /// Registers every family in `registry` (names get the registry's `rtp2` prefix).
    pub(crate) fn register(&self, registry: &mut Registry) {
        let counters: [(&str, &str, &Family<StreamLabels, Counter>); 9] = [
            (
                "keyframes",
                "H.264/H.265 access units (up to a marker bit) holding an IDR or IRAP NAL unit (RFC 6184, RFC 7798)",
                &self.keyframes,
            ),
            (
                "bytes",
                "Bytes of RTP packets (header and payload) pushed on the pad",
                &self.bytes,
            ),
            ("packets", "RTP packets pushed on the pad", &self.packets),
            (
                "expected_packets",
                "Packets expected from the sequence numbers (RFC 3550 A.3: extended highest sequence number increase)",
                &self.expected,
            ),
            (
                "lost_packets",
                "Packets missing in forward sequence-number gaps (RFC 3550 A.3)",
                &self.lost,
            ),
            (
                "duplicate_packets",
                "Packets whose sequence number was already seen",
                &self.duplicates,
            ),
            (
                "reordered_packets",
                "Packets older than the highest sequence number seen, not seen before (late; RFC 3550 A.1)",
                &self.reordered,
            ),
            (
                "sequence_restarts",
                "Sequence jumps beyond RFC 3550 A.1's MAX_DROPOUT/MAX_MISORDER, treated as a new sequence",
                &self.restarts,
            ),
            (
                "marker_packets",
                "Packets with the RTP marker bit set (RFC 3550 section 5.1: end of a frame for video)",
                &self.markers,
            ),
        ];
        for (name, help, family) in counters {
            registry.register(name, help, family.clone());
        }
        registry.register_with_unit(
            "interarrival_jitter",
            "RFC 3550 A.8 interarrival jitter of the stream as seen on the pad",
            Unit::Seconds,
            self.jitter.clone(),
        );
        registry.register_with_unit(
            "processing_latency",
            "Time from a buffer entering one of our elements to the element pushing the packet or frame it produced",
            Unit::Seconds,
            self.latency.clone(),
        );
        registry.register_with_unit(
            "capture_latency",
            "Time from capture (a timestamp/x-ntp reference timestamp meta: abs-capture-time, RFC 6051 NTP-64, RTCP sender reports) to one of our elements pushing the packet or frame, on this host's wall clock",
            Unit::Seconds,
            self.capture_latency.clone(),
        );
        registry.register(
            "untracked_packets",
            "Packets of streams over the series cap, counted by no per-stream series",
            self.untracked_packets.clone(),
        );
        registry.register(
            "refused_streams",
            "Streams refused a series because the series cap (tracer parameter max-streams) was reached",
            self.refused_streams.clone(),
        );
        registry.register(
            "tracked_streams",
            "Streams currently holding per-stream series",
            self.tracked_streams.clone(),
        );
    }

    /// Takes a per-stream series for `labels`, unless the cap is reached (then counts the
    /// refusal and returns `None`).
    pub(crate) fn stream(self: &Arc<Self>, labels: StreamLabels) -> Option<StreamSeries> {
        let max = self.max_streams.load(Ordering::Relaxed) as i64;
        if self.tracked_streams.inc() >= max {
            self.tracked_streams.dec();
            self.refused_streams.inc();
            return None;
        }
        Some(StreamSeries {
            packets: self.packets.get_or_create_owned(&labels),
            bytes: self.bytes.get_or_create_owned(&labels),
            expected: self.expected.get_or_create_owned(&labels),
            lost: self.lost.get_or_create_owned(&labels),
            duplicates: self.duplicates.get_or_create_owned(&labels),
            reordered: self.reordered.get_or_create_owned(&labels),
            restarts: self.restarts.get_or_create_owned(&labels),
            markers: self.markers.get_or_create_owned(&labels),
            keyframes: self.keyframes.get_or_create_owned(&labels),
            jitter: self.jitter.get_or_create_owned(&labels),
            labels,
            families: self.clone(),
        })
    }

    /// The latency histogram of one element; the series goes when the returned handle drops.
    pub(crate) fn latency(self: &Arc<Self>, labels: ElementLabels) -> LatencySeries {
        LatencySeries {
            histogram: self.latency.get_or_create_owned(&labels),
            labels,
            families: self.clone(),
        }
    }
}

impl Families {
    /// The capture-latency histogram of one element; the series goes when the handle drops.
    pub(crate) fn capture_latency(self: &Arc<Self>, labels: ElementLabels) -> CaptureSeries {
        CaptureSeries {
            histogram: self.capture_latency.get_or_create_owned(&labels),
            labels,
            families: self.clone(),
        }
    }
}

/// The capture-latency histogram of one element, removed from its family on drop.
#[derive(Debug)]
pub(crate) struct CaptureSeries {
    pub histogram: CaptureHistogram,
    labels: ElementLabels,
    families: Arc<Families>,
}

impl Drop for CaptureSeries {
    fn drop(&mut self) {
        self.families.capture_latency.remove(&self.labels);
    }
}

/// The series of one stream: atomics shared with the families only (for encoding).
#[derive(Debug)]
pub(crate) struct StreamSeries {
    pub packets: Counter,
    pub bytes: Counter,
    pub expected: Counter,
    pub lost: Counter,
    pub duplicates: Counter,
    pub reordered: Counter,
    pub restarts: Counter,
    pub markers: Counter,
    pub keyframes: Counter,
    pub jitter: Gauge<f64, AtomicU64>,
    labels: StreamLabels,
    families: Arc<Families>,
}

impl Drop for StreamSeries {
    fn drop(&mut self) {
        let f = &self.families;
        let l = &self.labels;
        for family in [
            &f.packets,
            &f.bytes,
            &f.expected,
            &f.lost,
            &f.duplicates,
            &f.reordered,
            &f.restarts,
            &f.markers,
            &f.keyframes,
        ] {
            family.remove(l);
        }
        f.jitter.remove(l);
        f.tracked_streams.dec();
    }
}

/// The latency histogram of one element, removed from its family on drop.
#[derive(Debug)]
pub(crate) struct LatencySeries {
    pub histogram: LatencyHistogram,
    labels: ElementLabels,
    families: Arc<Families>,
}

impl Drop for LatencySeries {
    fn drop(&mut self) {
        self.families.latency.remove(&self.labels);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(ssrc: u32) -> StreamLabels {
        StreamLabels {
            pipeline: "p".into(),
            element: "e".into(),
            pad: "src".into(),
            ssrc,
            pt: 96,
        }
    }

    #[test]
    fn cap_refuses_and_counts_then_frees_on_drop() {
        let f = Families::new(2);
        let a = f.stream(labels(1)).expect("first");
        let _b = f.stream(labels(2)).expect("second");
        assert!(f.stream(labels(3)).is_none());
        assert_eq!(f.refused_streams.get(), 1);
        assert!(f.packets.get(&labels(1)).is_some() && f.packets.get(&labels(2)).is_some());
        drop(a);
        assert!(
            f.packets.get(&labels(1)).is_none(),
            "the series left with its handle"
        );
        assert!(f.stream(labels(3)).is_some());
    }
}
