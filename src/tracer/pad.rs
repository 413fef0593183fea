// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Per-pad state of the `rtp-metrics` tracer, kept in the pad's qdata: the RTP streams seen
//! on the pad (one per SSRC and payload type, see [`StreamSet`]) and the latency timing
//! links. Only the pad's own streaming thread takes the pad's lock (plus the rare
//! link/caps hooks), so no lock is shared between the streaming threads of different
//! streams; the state and its series go away with the pad.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};

use spin::mutex::{SpinMutex, SpinMutexGuard};
use spin::relax::Yield;

use gst::prelude::*;

use super::keyframe::Codec;
use super::metrics::{ElementLabels, Families};
use super::stream_set::{PadLabels, StreamSet};
use super::timing::{CREATE, ElementTiming, Own, element_timing, feeds_of, pipeline_name};

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
struct PadInner {
    kind: Kind,
    /// Where the pad is, learnt at its first push (when its element is in its pipeline);
    /// `None` before.
    placed: Option<Placement>,
    streams: StreamSet,
    /// Our element this pad pushes into: its entry time is set on each push.
    feeds: Option<Arc<ElementTiming>>,
    /// Whether the pad feeds our depayloader or filter base, which hands the packets it
    /// maps to the tracer (`super::handoff`).
    hands_off: bool,
}

/// What a push on a pad does (see [`PadProbe::mode`]).
const IDLE: u8 = 0;
/// Only the latency of our element owning the pad: observed without the pad's lock.
const LATENCY_ONLY: u8 = 1;
/// Anything else (packets to count, an element to feed, the pad to place): under the lock.
const LOCKED: u8 = 2;
/// Packets to count, pushed into our depayloader or filter, on a pad of no element of ours
/// (no latency to observe): a single buffer is only noted, and accounted when that element
/// has mapped it (`super::handoff`).
const HANDOFF: u8 = 3;

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

/// The lock of a pad's [`PadInner`]: taken with one compare-and-swap, given back with a
/// plain release store (std's `Mutex` gives back with a second locked instruction, as costly
/// as the first, because it must look for sleepers). Only pushes on that one pad and the rare
/// link, caps and removal hooks of that pad take it, and pushes on one pad do not overlap in
/// a working pipeline, so it is practically never contended; a waiter yields its time slice
/// until the holder is done.
type PadLock = SpinMutex<PadInner, Yield>;

/// The tracer's state of one pad (qdata).
#[derive(Debug)]
pub(crate) struct PadProbe {
    /// Nothing to do on a push (a pad that is not counted, or not RTP, and takes part in no
    /// latency measurement): the push returns before taking the lock. Kept in step with
    /// `inner` under its lock.
    mode: AtomicU8,
    /// Set once, at the first push, when the pad is a source pad of one of our elements.
    own: OnceLock<Own>,
    inner: PadLock,
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
        let (feeds, hands_off) = feeds_of(pad);
        let probe = PadProbe {
            mode: AtomicU8::new(LOCKED),
            own: OnceLock::new(),
            inner: SpinMutex::new(PadInner {
                kind: Kind::Unknown,
                placed: None,
                streams: StreamSet::default(),
                feeds,
                hands_off,
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

    /// The pad's state, locked: the uncontended case in line, the waiting out of line
    /// (inlining `SpinMutex::lock`'s wait loop costs the hot path ~10 instructions of
    /// register spills).
    #[inline]
    fn lock(&self) -> SpinMutexGuard<'_, PadInner, Yield> {
        match self.inner.try_lock() {
            Some(guard) => guard,
            None => self.wait(),
        }
    }

    #[cold]
    #[inline(never)]
    fn wait(&self) -> SpinMutexGuard<'_, PadInner, Yield> {
        self.inner.lock()
    }

    /// The pad's caps changed (a caps event is pushed).
    pub(crate) fn set_caps(&self, caps: &gst::CapsRef) {
        let mut inner = self.lock();
        inner.kind = kind_of(caps);
        self.refresh_mode(&inner);
    }

    /// Recomputes `mode` from `inner` (whose lock the caller holds).
    fn refresh_mode(&self, inner: &PadInner) {
        let counts_rtp =
            inner.placed.as_ref().is_some_and(|p| p.counts) && matches!(inner.kind, Kind::Rtp(..));
        let locked = inner.feeds.is_some()
            || inner
                .placed
                .as_ref()
                .is_none_or(|p| p.counts && inner.kind != Kind::NotRtp);
        let mode = if counts_rtp && inner.hands_off && self.own.get().is_none() {
            HANDOFF
        } else if locked {
            LOCKED
        } else if self.own.get().is_some() {
            LATENCY_ONLY
        } else {
            IDLE
        };
        self.mode.store(mode, Ordering::Relaxed);
    }

    /// The pad was (re)linked or unlinked: recompute which of our elements it feeds.
    pub(crate) fn relink(&self, pad: &gst::Pad) {
        let (feeds, hands_off) = feeds_of(pad);
        let mut inner = self.lock();
        inner.feeds = feeds;
        inner.hands_off = hands_off;
        self.refresh_mode(&inner);
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
        self.refresh_mode(&inner);
    }

    /// The first push on the pad: where it is (its element is in its pipeline by now).
    #[cold]
    #[inline(never)]
    fn place(&self, inner: &mut PadInner, pad: &gst::Pad, families: &Arc<Families>) {
        let (placement, element) = Placement::of(pad);
        if pad.direction() == gst::PadDirection::Src
            && let Some(timing) = element.and_then(|e| element_timing(&e))
        {
            let _ = self.own.set(Own::new(timing, families));
        }
        inner.placed = Some(placement);
        self.refresh_mode(inner);
    }

    /// A push before any caps event was seen on the pad: its caps tell whether it is RTP.
    #[cold]
    #[inline(never)]
    fn learn_kind(&self, inner: &mut PadInner, pad: &gst::Pad) {
        inner.kind = pad.current_caps().map_or(Kind::Unknown, |c| kind_of(&c));
        self.refresh_mode(inner);
    }

    /// Whether a push on this pad needs no accounting.
    #[inline]
    pub(crate) fn is_idle(&self) -> bool {
        self.mode.load(Ordering::Relaxed) == IDLE
    }

    /// Accounts the `n` buffers of one push at time `ts` (ns) on a pad that is not
    /// [`Self::is_idle`]; `buffers` walks them (once).
    #[inline]
    pub(crate) fn on_push<'a, I: Iterator<Item = &'a gst::BufferRef>>(
        &self,
        ts: u64,
        pad: &gst::Pad,
        families: &Arc<Families>,
        n: u64,
        buffers: impl FnOnce() -> I,
    ) {
        if self.mode.load(Ordering::Relaxed) == LATENCY_ONLY
            && let Some(own) = self.own.get()
        {
            // Nothing else here touches the pad's state: no lock. (Pushes overlapping on
            // one pad, which a working element does not make, could lose a count in the
            // shard, nothing worse.)
            own.observe(ts, n, buffers(), || Some(families));
            return;
        }
        self.on_push_locked(ts, pad, families, n, buffers);
    }

    /// The push of one `buffer` at `ts` on `pad` (this probe's), seen by the `rtp-metrics`
    /// tracer at `tracer`, when the pad's mode allows it without the tracer's object: an
    /// idle pad, a latency-only pad, or a push into our depayloader or filter only noted
    /// (`HANDOFF`).
    /// False when [`Self::on_push`] must see it.
    ///
    /// # Safety
    /// `tracer` is the live `rtp-metrics` tracer whose hook runs; `buffer` a live buffer
    /// borrowed for the call.
    #[inline(always)]
    pub(crate) unsafe fn on_single_push(
        &self,
        tracer: *mut glib::gobject_ffi::GObject,
        ts: u64,
        pad: *mut gst::ffi::GstPad,
        buffer: *mut gst::ffi::GstBuffer,
    ) -> bool {
        match self.mode.load(Ordering::Relaxed) {
            IDLE => true,
            HANDOFF => super::handoff::note(buffer, pad, self, tracer, ts),
            LATENCY_ONLY => {
                let Some(own) = self.own.get() else {
                    return false;
                };
                // SAFETY: per the contract: a live buffer, borrowed for the call.
                let buffer = unsafe { gst::BufferRef::from_ptr(buffer) };
                // No lock, as in `on_push`; the families only for a capture time.
                // SAFETY: per the contract.
                own.observe(ts, 1, std::iter::once(buffer), || unsafe {
                    super::imp::families_of(tracer)
                });
                true
            }
            _ => false,
        }
    }

    /// A packet noted in `HANDOFF` mode at `ts`, now mapped by our depayloader or filter
    /// (`bytes`: all of it): accounted as [`Self::on_push`] would have, and that element's
    /// entry time set. In line in `super::handoff` (one stack frame for the whole accounting).
    #[inline(always)]
    pub(super) fn on_handed_off<'f>(
        &self,
        ts: u64,
        bytes: &[u8],
        families: impl Fn() -> Option<&'f Arc<Families>>,
    ) {
        let mut guard = self.lock();
        let inner = &mut *guard;
        if let Some(t) = &inner.feeds {
            t.entry_ns.store(ts, Ordering::Relaxed);
        }
        if let (Kind::Rtp(clock_rate, codec), Some(p)) = (inner.kind, &inner.placed)
            && p.counts
        {
            let labels = || PadLabels {
                pipeline: &p.labels.pipeline,
                element: &p.labels.element,
                pad: &p.pad_name,
            };
            inner.streams.on_packet(
                ts,
                |look| super::packet::from_bytes(bytes, codec, look),
                clock_rate,
                labels,
                families,
            );
        }
    }

    /// [`Self::on_push`] under the pad's lock (out of line: the latency-only pushes above
    /// then save this part's register saves and restores).
    #[inline(never)]
    fn on_push_locked<'a, I: Iterator<Item = &'a gst::BufferRef>>(
        &self,
        ts: u64,
        pad: &gst::Pad,
        families: &Arc<Families>,
        n: u64,
        buffers: impl FnOnce() -> I,
    ) {
        let mut guard = self.lock();
        let inner = &mut *guard;
        if inner.placed.is_none() {
            self.place(inner, pad, families);
        }
        if let Some(t) = &inner.feeds {
            t.entry_ns.store(ts, Ordering::Relaxed);
        }
        let counts = inner.placed.as_ref().is_some_and(|p| p.counts);
        if counts && inner.kind == Kind::Unknown {
            self.learn_kind(inner, pad);
        }
        let rtp = match inner.kind {
            Kind::Rtp(clock_rate, codec) if counts => Some((clock_rate, codec)),
            _ => None,
        };
        let own = self.own.get();
        match (rtp, &inner.placed) {
            (Some((clock_rate, codec)), Some(p)) => {
                let labels = || PadLabels {
                    pipeline: &p.labels.pipeline,
                    element: &p.labels.element,
                    pad: &p.pad_name,
                };
                let buffers = buffers().inspect(|buffer| {
                    inner.streams.on_packet(
                        ts,
                        |look| super::packet::read(buffer, codec, look),
                        clock_rate,
                        labels,
                        || Some(families),
                    )
                });
                match own {
                    Some(own) => own.observe(ts, n, buffers, || Some(families)),
                    None => buffers.for_each(drop),
                }
            }
            _ => {
                if let Some(own) = own {
                    own.observe(ts, n, buffers(), || Some(families));
                }
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
