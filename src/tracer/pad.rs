// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Per-pad state of the `rtp-metrics` tracer, kept in the pad's qdata: the RTP streams seen
//! on the pad (one per SSRC and payload type) and the latency timing links. Only the pad's
//! own streaming thread takes the pad's lock (plus the rare link/caps hooks), so no lock is
//! shared between the streaming threads of different streams; the state and its series go
//! away with the pad.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use gst::prelude::*;

use super::keyframe::Codec;
use super::metrics::{ElementLabels, Families, StreamLabels, StreamSeries};
use super::packet::{self, Packet};
use super::sequence::StreamState;
use super::streams::idx;
use super::timing::{CREATE, ElementTiming, element_timing, feeds_of, pipeline_name};

/// Streams tracked per pad; further streams are counted as untracked packets unless one of
/// the tracked streams has been idle for [`IDLE_EVICT_NS`].
pub(crate) const MAX_STREAMS_PER_PAD: usize = 16;
/// A stream idle this long gives its place (and series) to a new stream on a full pad.
const IDLE_EVICT_NS: u64 = 5_000_000_000;
/// Refused (SSRC, PT) pairs remembered per pad so a refused stream is counted once.
const MAX_REFUSED_MEMO: usize = 64;

/// The qdata key of [`PadProbe`] on pads.
static PAD_QUARK: LazyLock<glib::Quark> =
    LazyLock::new(|| glib::Quark::from_str("rtp2-metrics-pad-probe"));
/// Whether a pad carries RTP, as its caps say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unknown,
    NotRtp,
    /// `application/x-rtp` with this `clock-rate` (0 when the caps have none) and codec.
    Rtp(u32, Codec),
}

#[derive(Debug)]
struct Tracked {
    ssrc: u32,
    pt: u8,
    state: StreamState,
    /// Whether the current access unit's first slice is a keyframe one; `None` until a
    /// packet of the access unit starts a slice.
    au_key: Option<bool>,
    /// False until the stream's first packet (which starts the sequence) is accounted.
    started: bool,
    last_arrival_ns: u64,
    series: StreamSeries,
}

#[derive(Debug)]
struct PadInner {
    kind: Kind,
    /// Where the pad is, learnt at its first push (when its element is in its pipeline);
    /// `None` before.
    placed: Option<Placement>,
    streams: Vec<Tracked>,
    refused: Vec<(u32, u8)>,
    /// Our element this pad pushes into: its entry time is set on each push.
    feeds: Option<Arc<ElementTiming>>,
    /// Our element owning this source pad: each push observes its latency.
    own: Option<Arc<ElementTiming>>,
}

/// Where a pad is, for labels, and whether its packets are counted.
#[derive(Debug)]
struct Placement {
    /// False for ghost and proxy pads (the packets are counted on the real pad) and pads
    /// of no element.
    counts: bool,
    labels: ElementLabels,
    pad_name: String,
}

impl Placement {
    fn of(pad: &gst::Pad) -> (Self, Option<gst::Element>) {
        let element = pad.parent_element();
        let labels = ElementLabels {
            pipeline: element
                .as_ref()
                .map_or_else(String::new, |e| pipeline_name(e.upcast_ref())),
            element: element
                .as_ref()
                .map_or_else(String::new, |e| e.name().to_string()),
        };
        let placement = Placement {
            counts: element.is_some() && !pad.is::<gst::ProxyPad>(),
            labels,
            pad_name: pad.name().to_string(),
        };
        (placement, element)
    }
}

/// The tracer's state of one pad (qdata).
#[derive(Debug)]
pub(crate) struct PadProbe {
    /// Nothing to do on a push (a pad that is not counted, or not RTP, and takes part in no
    /// latency measurement): the push returns before taking the lock. Kept in step with
    /// `inner` under its lock.
    idle: AtomicBool,
    inner: Mutex<PadInner>,
}

impl PadProbe {
    /// The probe of `pad` from its qdata, created on first use (see [`PadProbe::get`] for
    /// the per-thread cache in front of it).
    pub(super) fn get_or_create(pad: &gst::Pad) -> &PadProbe {
        // SAFETY: the key only ever holds a `PadProbe`, set once under `CREATE` and never
        // replaced or stolen, so it lives as long as the pad, which outlives the borrow.
        if let Some(p) = unsafe { pad.qdata::<PadProbe>(*PAD_QUARK) } {
            // SAFETY: as above: the pointer is to the `PadProbe` the pad keeps until it is
            // freed, and the pad outlives the returned borrow.
            return unsafe { &*p.as_ptr() };
        }
        // The link is computed outside `CREATE` (it takes object locks).
        let feeds = feeds_of(pad);
        let probe = PadProbe {
            idle: AtomicBool::new(false),
            inner: Mutex::new(PadInner {
                kind: Kind::Unknown,
                placed: None,
                streams: Vec::new(),
                refused: Vec::new(),
                feeds,
                own: None,
            }),
        };
        let _create = CREATE.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: as above; checked again under `CREATE`, set at most once.
        unsafe {
            if pad.qdata::<PadProbe>(*PAD_QUARK).is_none() {
                pad.set_qdata(*PAD_QUARK, probe);
            }
            &*pad.qdata::<PadProbe>(*PAD_QUARK).unwrap().as_ptr()
        }
    }

    fn lock(&self) -> MutexGuard<'_, PadInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pad's caps changed (a caps event is pushed).
    pub(crate) fn set_caps(&self, caps: &gst::CapsRef) {
        let mut inner = self.lock();
        inner.kind = kind_of(caps);
        self.refresh_idle(&inner);
    }

    /// Recomputes `idle` from `inner` (whose lock the caller holds).
    fn refresh_idle(&self, inner: &PadInner) {
        let idle = inner.feeds.is_none()
            && inner.own.is_none()
            && inner
                .placed
                .as_ref()
                .is_some_and(|p| !p.counts || inner.kind == Kind::NotRtp);
        self.idle.store(idle, Ordering::Relaxed);
    }

    /// The pad was (re)linked or unlinked: recompute which of our elements it feeds.
    pub(crate) fn relink(&self, pad: &gst::Pad) {
        let feeds = feeds_of(pad);
        let mut inner = self.lock();
        inner.feeds = feeds;
        self.refresh_idle(&inner);
    }

    /// The pad left its element: its streams' series go now.
    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        inner.streams.clear();
        inner.placed = Some(Placement {
            counts: false,
            labels: ElementLabels {
                pipeline: String::new(),
                element: String::new(),
            },
            pad_name: String::new(),
        });
        self.refresh_idle(&inner);
    }

    /// The first push on the pad: where it is (its element is in its pipeline by now).
    #[cold]
    #[inline(never)]
    fn place(&self, inner: &mut PadInner, pad: &gst::Pad) {
        let (placement, element) = Placement::of(pad);
        if pad.direction() == gst::PadDirection::Src
            && let Some(e) = element
        {
            inner.own = element_timing(&e);
        }
        inner.placed = Some(placement);
        self.refresh_idle(inner);
    }

    /// A push before any caps event was seen on the pad: its caps tell whether it is RTP.
    #[cold]
    #[inline(never)]
    fn learn_kind(&self, inner: &mut PadInner, pad: &gst::Pad) {
        inner.kind = pad.current_caps().map_or(Kind::Unknown, |c| kind_of(&c));
        self.refresh_idle(inner);
    }

    /// Whether a push on this pad needs no accounting.
    #[inline]
    pub(crate) fn is_idle(&self) -> bool {
        self.idle.load(Ordering::Relaxed)
    }

    /// Accounts the `n` buffers of one push at time `ts` (ns), unless [`Self::is_idle`];
    /// `buffers` walks them (once or twice).
    pub(crate) fn on_push<'a, I: Iterator<Item = &'a gst::BufferRef>>(
        &self,
        ts: u64,
        pad: &gst::Pad,
        families: &Arc<Families>,
        n: u64,
        buffers: impl Fn() -> I,
    ) {
        if self.is_idle() {
            return;
        }
        let mut inner = self.lock();
        if inner.placed.is_none() {
            self.place(&mut inner, pad);
        }
        if let Some(t) = &inner.feeds {
            t.entry_ns.store(ts, Ordering::Relaxed);
        }
        if let Some(t) = &inner.own {
            let entry = t.entry_ns.load(Ordering::Relaxed);
            if entry != 0 && ts >= entry {
                t.observe(ts - entry, n, families);
            }
        }
        let counts = inner.placed.as_ref().is_some_and(|p| p.counts);
        if counts && inner.kind == Kind::Unknown {
            self.learn_kind(&mut inner, pad);
        }
        let rtp = match inner.kind {
            Kind::Rtp(clock_rate, codec) if counts => Some((clock_rate, codec)),
            _ => None,
        };
        // Our element's outputs that carry a capture time: capture → output latency (a
        // wall-clock read per output carrying one; a walk of the metas for the others).
        if let Some(t) = &inner.own {
            for buffer in buffers() {
                if let Some(age) = crate::capture_time::latency_of(buffer) {
                    t.observe_capture(age.max(0) as u64, families);
                }
            }
        }
        if let Some((clock_rate, codec)) = rtp {
            for buffer in buffers() {
                inner.on_packet(ts, buffer, clock_rate, codec, families);
            }
        }
    }
}

fn kind_of(caps: &gst::CapsRef) -> Kind {
    match caps.structure(0) {
        Some(s) if s.name() == "application/x-rtp" => Kind::Rtp(
            s.get::<i32>("clock-rate").map_or(0, |r| r.max(0) as u32),
            s.get::<&str>("encoding-name")
                .map_or(Codec::Other, Codec::from_encoding_name),
        ),
        Some(_) => Kind::NotRtp,
        None => Kind::Unknown,
    }
}

impl PadInner {
    fn on_packet(
        &mut self,
        ts: u64,
        buffer: &gst::BufferRef,
        clock_rate: u32,
        codec: Codec,
        families: &Arc<Families>,
    ) {
        let n_memory = buffer.n_memory();
        if n_memory == 0 {
            return;
        }
        // The payload is looked at while the stream's access unit is undecided.
        let streams = &self.streams;
        let look = |ssrc, pt| {
            streams
                .iter()
                .find(|s| s.ssrc == ssrc && s.pt == pt)
                .is_none_or(|s| s.au_key.is_none())
        };
        let Some(h) = packet::read(buffer, n_memory, codec, look) else {
            return;
        };
        let i = match self
            .streams
            .iter()
            .position(|s| s.ssrc == h.ssrc && s.pt == h.pt)
        {
            Some(i) => i,
            None => match self.add_stream(ts, &h, families) {
                Some(i) => i,
                None => {
                    families.untracked_packets.inc();
                    return;
                }
            },
        };
        let s = &mut self.streams[i];
        let cells = &*s.series.cells;
        cells.add(idx::PACKETS, 1);
        cells.add(idx::BYTES, h.size as u64);
        // The access unit's first slice decides; later packets of it need no look.
        if s.au_key.is_none() {
            s.au_key = h.first_slice_key;
        }
        if h.marker {
            cells.add(idx::MARKERS, 1);
            if s.au_key.take() == Some(true) {
                cells.add(idx::KEYFRAMES, 1);
            }
        }
        if s.started {
            let o = s.state.on_sequence(h.seq);
            if o.expected == 1 && o.lost == 0 {
                // The usual case: the next packet in order.
                cells.add(idx::EXPECTED, 1);
            } else {
                cells.add(idx::LOST, o.lost);
                cells.add(idx::EXPECTED, o.expected);
                cells.add(idx::DUPLICATES, u64::from(o.duplicate));
                cells.add(idx::REORDERED, u64::from(o.reordered));
                cells.add(idx::RESTARTS, u64::from(o.restarted));
                if o.duplicate {
                    s.last_arrival_ns = ts;
                    return;
                }
            }
        }
        s.started = true;
        s.state.on_arrival(ts, h.ts, clock_rate);
        cells.set_jitter(s.state.jitter_q4(), clock_rate);
        s.last_arrival_ns = ts;
    }

    /// A new stream on this pad: its index, or `None` when a cap refuses it.
    #[cold]
    #[inline(never)]
    fn add_stream(&mut self, ts: u64, h: &Packet, families: &Arc<Families>) -> Option<usize> {
        if self.refused.contains(&(h.ssrc, h.pt)) {
            return None;
        }
        if self.streams.len() >= MAX_STREAMS_PER_PAD {
            let (oldest, last) = self
                .streams
                .iter()
                .enumerate()
                .map(|(i, s)| (i, s.last_arrival_ns))
                .min_by_key(|&(_, t)| t)?;
            if ts.saturating_sub(last) < IDLE_EVICT_NS {
                self.refuse(h, families);
                return None;
            }
            self.streams.swap_remove(oldest);
            self.refused.clear();
        }
        let placed = self.placed.as_ref()?;
        let labels = StreamLabels {
            pipeline: placed.labels.pipeline.clone(),
            element: placed.labels.element.clone(),
            pad: placed.pad_name.clone(),
            ssrc: h.ssrc,
            pt: h.pt,
        };
        let Some(series) = families.stream(labels) else {
            self.refuse(h, families);
            return None;
        };
        // The first packet starts the sequence; it is expected (A.3: base_seq counts).
        series.cells.add(idx::EXPECTED, 1);
        self.streams.push(Tracked {
            ssrc: h.ssrc,
            pt: h.pt,
            state: StreamState::new(h.seq),
            au_key: None,
            started: false,
            last_arrival_ns: ts,
            series,
        });
        Some(self.streams.len() - 1)
    }

    fn refuse(&mut self, h: &Packet, families: &Arc<Families>) {
        families.refused_streams.inc();
        if self.refused.len() < MAX_REFUSED_MEMO {
            self.refused.push((h.ssrc, h.pt));
        }
    }
}
