// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The metric families of the `rtp-metrics` tracer and the handles that streaming threads
//! update: each stream's series is a block of counters owned by that stream
//! ([`super::streams`]), so two streams never touch the same memory; a series leaves its
//! family when its handle drops (its pad or element went away).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::latency::{CaptureHistogram, LatencyHistogram};
use super::streams::{StreamCells, StreamCollector, StreamTable};

/// Labels of a per-stream series: where the packets were seen and which stream they are.
/// All bounded: pipelines, elements and pads are finite, and the streams per pad and in
/// total are capped.
#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
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
    /// The per-stream series (packets, bytes, loss, jitter, …), see [`StreamTable`].
    streams: Arc<StreamTable>,
    latency: Family<ElementLabels, LatencyHistogram>,
    capture_latency: Family<ElementLabels, CaptureHistogram>,
    /// Packets no per-stream series counts: those of streams beyond the series cap, and
    /// those pushed into our depayloader or filter that it never read (`super::handoff`).
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
        registry.register_collector(Box::new(StreamCollector(self.streams.clone())));
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
            "Packets counted by no per-stream series: of streams over the series cap, or pushed into one of our depayloaders or FEC/RED elements that never read them",
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
        let cells = Arc::new(StreamCells::default());
        let id = self.streams.insert(labels, cells.clone());
        Some(StreamSeries {
            cells,
            id,
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

/// The series of one stream: its counters, shared with the stream table only (for
/// encoding); they leave the table when this handle drops.
#[derive(Debug)]
pub(crate) struct StreamSeries {
    /// The stream's counters, written by its pad's streaming thread only.
    pub cells: Arc<StreamCells>,
    id: u64,
    families: Arc<Families>,
}

impl Drop for StreamSeries {
    fn drop(&mut self) {
        self.families.streams.remove(self.id);
        self.families.tracked_streams.dec();
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
        assert!(f.streams.contains(&labels(1)) && f.streams.contains(&labels(2)));
        drop(a);
        assert!(
            !f.streams.contains(&labels(1)),
            "the series left with its handle"
        );
        assert!(f.stream(labels(3)).is_some());
    }
}
