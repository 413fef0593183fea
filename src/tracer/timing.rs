// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Processing-latency timing of our elements: the entry time of the buffer an element is
//! processing (set by the pad pushing into it) and its histogram (observed by its source
//! pads, each in its own shard), kept in the element's qdata.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use gst::prelude::*;

use super::latency::LatencyShard;
use super::metrics::{CaptureSeries, ElementLabels, Families, LatencySeries};

/// The qdata key of [`ElementTiming`] on elements.
static ELEMENT_QUARK: LazyLock<glib::Quark> =
    LazyLock::new(|| glib::Quark::from_str("rtp2-metrics-element-timing"));

/// Serializes the creation of qdata so a probe, once set, is never replaced (a streaming
/// thread may be reading it). Taken once per pad and element, never per packet.
pub(crate) static CREATE: Mutex<()> = Mutex::new(());

/// Latency timing of one of our elements: when the buffer now being processed entered it.
#[derive(Debug)]
pub(crate) struct ElementTiming {
    /// Tracer time (ns) at which the buffer being processed was pushed into the element.
    pub entry_ns: AtomicU64,
    element: glib::WeakRef<gst::Element>,
    /// Created at the first observation, when the element is in its pipeline (labels).
    series: OnceLock<Option<LatencySeries>>,
    /// Capture → output latency, created at the first output carrying a capture time.
    capture: OnceLock<Option<CaptureSeries>>,
}

impl ElementTiming {
    /// A part of the element's latency histogram for one of its source pads (written under
    /// that pad's lock; see [`LatencyShard`]); `None` once the element is gone.
    #[cold]
    #[inline(never)]
    pub(crate) fn latency_shard(&self, families: &Arc<Families>) -> Option<LatencyShard> {
        let series = self.series.get_or_init(|| {
            let element = self.element.upgrade()?;
            Some(families.latency(ElementLabels {
                pipeline: pipeline_name(element.upcast_ref()),
                element: element.name().to_string(),
            }))
        });
        series.as_ref().map(|s| s.histogram.shard())
    }

    /// Records an output pushed `ns` after its capture (see `super::capture`).
    pub(crate) fn observe_capture(&self, ns: u64, families: &Arc<Families>) {
        let series = self.capture.get_or_init(|| {
            let element = self.element.upgrade()?;
            Some(families.capture_latency(ElementLabels {
                pipeline: pipeline_name(element.upcast_ref()),
                element: element.name().to_string(),
            }))
        });
        if let Some(s) = series {
            s.histogram.observe_ns(ns, 1);
        }
    }
}

/// The name of the top-level bin holding `obj` (the pipeline), or the object's own name.
pub(crate) fn pipeline_name(obj: &gst::Object) -> String {
    let mut top = obj.clone();
    for _ in 0..64 {
        match top.parent() {
            Some(p) => top = p,
            None => break,
        }
    }
    top.name().to_string()
}

/// Whether `element` is one of this plugin's elements (the ones with a latency histogram).
fn is_ours(element: &gst::Element) -> bool {
    element
        .factory()
        .and_then(|f| f.plugin_name())
        .is_some_and(|n| n == "rtp2")
}

/// The timing of `element` if it is ours, created on first use.
pub(crate) fn element_timing(element: &gst::Element) -> Option<Arc<ElementTiming>> {
    if !is_ours(element) {
        return None;
    }
    let _create = CREATE.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: this key only ever holds an `Arc<ElementTiming>`, set below under `CREATE`
    // and never replaced, so the pointer is valid while `element` is alive.
    if let Some(t) = unsafe { element.qdata::<Arc<ElementTiming>>(*ELEMENT_QUARK) } {
        // SAFETY: as above: the `Arc` the element keeps is valid while `element` is alive.
        return Some(unsafe { t.as_ref() }.clone());
    }
    let timing = Arc::new(ElementTiming {
        entry_ns: AtomicU64::new(0),
        element: element.downgrade(),
        series: OnceLock::new(),
        capture: OnceLock::new(),
    });
    // SAFETY: the key's type is `Arc<ElementTiming>` everywhere; set once under `CREATE`.
    unsafe { element.set_qdata(*ELEMENT_QUARK, timing.clone()) };
    Some(timing)
}

/// The timing of our element that `pad` pushes into, if its peer is one of our sink pads,
/// and whether that peer is the input of a depayloader or filter base, which hands the
/// packets it maps to the tracer (see `super::handoff`).
pub(crate) fn feeds_of(pad: &gst::Pad) -> (Option<Arc<ElementTiming>>, bool) {
    let Some(peer) = pad.peer() else {
        return (None, false);
    };
    let Some(element) = peer.parent_element() else {
        return (None, false);
    };
    let hands_off = crate::base::hands_input_to_tracer(&element, &peer);
    (element_timing(&element), hands_off)
}

/// Our element owning a source pad, whose pushes observe its processing latency.
#[derive(Debug)]
pub(crate) struct Own {
    timing: Arc<ElementTiming>,
    /// This pad's part of the element's latency histogram (`None`: the element was gone).
    shard: Option<LatencyShard>,
}

impl Own {
    /// `timing`'s part for one of its element's source pads.
    pub(crate) fn new(timing: Arc<ElementTiming>, families: &Arc<Families>) -> Self {
        Own {
            shard: timing.latency_shard(families),
            timing,
        }
    }

    /// A push of the `n` `buffers` at `ts` from our element: its processing latency, and
    /// the capture → output latency of the outputs carrying a capture time (a wall-clock
    /// read per output carrying one; a look at the metas for the others). `families` is
    /// asked only for a capture time.
    pub(crate) fn observe<'a, 'f>(
        &self,
        ts: u64,
        n: u64,
        buffers: impl Iterator<Item = &'a gst::BufferRef>,
        families: impl Fn() -> Option<&'f Arc<Families>>,
    ) {
        let entry = self.timing.entry_ns.load(Ordering::Relaxed);
        if entry != 0
            && ts >= entry
            && let Some(shard) = &self.shard
        {
            shard.observe_ns(ts - entry, n);
        }
        for buffer in buffers {
            if let Some(age) = crate::capture_time::latency_of(buffer)
                && let Some(families) = families()
            {
                self.timing.observe_capture(age.max(0) as u64, families);
            }
        }
    }
}
