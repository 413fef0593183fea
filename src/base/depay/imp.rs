// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! GObject implementation of `RtpBaseDepay2`.

use smallvec::SmallVec;
use std::cell::RefCell;
use std::ops::RangeInclusive;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::rtp::RtpPacket;
use rtp2_core::time::clock_to_ns;

use super::IncomingPacket;
use super::allocation::ProposedAllocator;
use super::relation::{FromPackets, PacketWindow, allowed_metas, copy_metas};
use crate::base::extensions::{HeaderExtensions, configure_from_caps, lock};
use crate::base::orientation::{OrientationTags, orientation_of_output, tag_event};
use crate::base::plumbing::{
    GuardedPadFunctions, add_pads, caps_not_handled, element_class_deref, input_not_handled,
    pad_template, vfuncs_of,
};
use crate::base::rtp_in::{
    DEFAULT_MAX_REORDER, RtpIn, Verdict, max_reorder_pspec, parse_batch, report_bad_input,
};

type FlowResult = Result<gst::FlowSuccess, gst::FlowError>;

// The methods of `RtpBaseDepay2` by concern; the types they share are in this file.
mod events;
mod input;
mod output;
mod properties;

/// Class structure with the virtual methods (filled through `IsSubclassable`, see `mod.rs`).
#[repr(C)]
pub struct Class {
    parent: gst::ffi::GstElementClass,
    pub(super) start: fn(&super::RtpBaseDepay2) -> Result<(), gst::ErrorMessage>,
    pub(super) stop: fn(&super::RtpBaseDepay2) -> Result<(), gst::ErrorMessage>,
    pub(super) set_sink_caps: fn(&super::RtpBaseDepay2, &gst::Caps) -> bool,
    pub(super) handle_packet: fn(&super::RtpBaseDepay2, &IncomingPacket) -> FlowResult,
    pub(super) drain: fn(&super::RtpBaseDepay2) -> FlowResult,
    pub(super) flush: fn(&super::RtpBaseDepay2),
    pub(super) sink_event: fn(&super::RtpBaseDepay2, gst::Event) -> bool,
    pub(super) src_event: fn(&super::RtpBaseDepay2, gst::Event) -> bool,
    /// `RtpBaseDepay2Impl::ALLOWED_META_TAGS` of the subclass.
    pub(super) allowed_meta_tags: &'static [&'static str],
}

// SAFETY: `#[repr(C)]` with the parent class structure first, as GObject requires.
unsafe impl ClassStruct for Class {
    type Type = RtpBaseDepay2;
}

element_class_deref!(Class);

/// An input PTS this far from the one the RTP time predicts is logged (sender restart, clock
/// jump).
const PTS_JUMP: gst::ClockTime = gst::ClockTime::from_seconds(1);

#[derive(Debug, Clone)]
struct Settings {
    max_reorder: u32,
    source_info: bool,
    auto_header_extension: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_reorder: DEFAULT_MAX_REORDER,
            source_info: false,
            auto_header_extension: true,
        }
    }
}

/// Counters of the output side (the input side's are in [`RtpIn`]).
#[derive(Debug, Default)]
struct Stats {
    /// Valid packets with no payload (padding only, such as bandwidth probes): skipped.
    packets_without_payload: u64,
    dropped_payload: u64,
    buffers_pushed: u64,
    keyframe_requests: u64,
    /// Capture → output latency of the outputs carrying a capture time (made at the first).
    capture_latency: Option<Box<rtp2_core::latency::CaptureLatency>>,
}

#[derive(Debug)]
/// Playback fields of RTSP sink caps (`npt-start`, `npt-stop`, `play-speed`, `play-scale`),
/// reported in `stats` under the names the C base class uses.
#[derive(Clone, Copy)]
struct PlayRange {
    npt_start: u64,
    npt_stop: u64,
    play_speed: f64,
    play_scale: f64,
}

impl Default for PlayRange {
    fn default() -> Self {
        PlayRange {
            npt_start: 0,
            npt_stop: u64::MAX,
            play_speed: 1.0,
            play_scale: 1.0,
        }
    }
}

impl PlayRange {
    fn from_caps(s: &gst::StructureRef) -> Self {
        let default = PlayRange::default();
        PlayRange {
            npt_start: s.get::<u64>("npt-start").unwrap_or(default.npt_start),
            npt_stop: s.get::<u64>("npt-stop").unwrap_or(default.npt_stop),
            play_speed: s.get::<f64>("play-speed").unwrap_or(default.play_speed),
            play_scale: s.get::<f64>("play-scale").unwrap_or(default.play_scale),
        }
    }
}

struct State {
    clock_rate: Option<u32>,
    play_range: PlayRange,
    /// PTS and DTS of the last input buffer; `stats` turns them into running times (C stats
    /// `running-time-pts/dts`), so that the per-packet path does no segment arithmetic.
    input_times: (Option<gst::ClockTime>, Option<gst::ClockTime>),
    /// SSRC, sequence numbers, verdicts and input counters.
    rtp_in: RtpIn,
    /// (extended RTP timestamp, PTS) of the last packet with a PTS: the output PTS are
    /// computed from it.
    anchor: Option<(u64, gst::ClockTime)>,
    discont_pending: bool,
    /// What the outputs made from each recent packet get from it (extension block, CSRCs,
    /// allowed metas); knows `source-info`, so that the per-packet path takes one lock.
    window: PacketWindow,
    segment: gst::FormattedSegment<gst::ClockTime>,
    src_caps: Option<gst::Caps>,
    /// A segment event that arrived before the output caps were known; it follows them.
    pending_segment: Option<gst::Event>,
    pending: Vec<gst::Buffer>,
    /// Allocator downstream proposed for the outputs (`None`: zero-copy shared memories).
    allocator: Option<ProposedAllocator>,
    /// New output caps or a RECONFIGURE event: the ALLOCATION query is due before the next
    /// push.
    allocation_stale: bool,
    stats: Stats,
    /// The orientation announced downstream as `image-orientation` (CVO extension).
    orientation: OrientationTags,
}

/// What a buffer gets on its way out: PTS, DISCONT and what the packets it was made from
/// carried.
#[derive(Debug)]
struct OutputDecoration {
    pts: Option<gst::ClockTime>,
    discont: bool,
    from_packets: FromPackets,
}

/// A whole-payload output waiting for the input buffer to be unmapped; it lives in the
/// packet being handled ([`super::IncomingPacket`]), not in the state.
#[derive(Debug)]
pub(super) struct PayloadOutput {
    /// Where it goes among the outputs of this input.
    index: usize,
    /// The payload's bytes in the input buffer.
    range: std::ops::Range<usize>,
    duration: Option<gst::ClockTime>,
    flags: gst::BufferFlags,
    decoration: OutputDecoration,
    /// The input buffer has metas (to remove before it becomes the output).
    has_metas: bool,
}

impl State {
    fn new(max_reorder: u32) -> Self {
        State {
            clock_rate: None,
            play_range: PlayRange::default(),
            input_times: (None, None),
            rtp_in: RtpIn::new(max_reorder),
            anchor: None,
            discont_pending: true,
            window: PacketWindow::default(),
            segment: gst::FormattedSegment::new(),
            src_caps: None,
            pending_segment: None,
            pending: Vec::new(),
            allocator: None,
            allocation_stale: false,
            stats: Stats::default(),
            orientation: OrientationTags::default(),
        }
    }

    /// Forgets the sequence and timing history (flush).
    fn resync(&mut self) {
        self.rtp_in.reset();
        self.forget_timing();
    }

    /// Forgets the RTP → PTS mapping and the recorded packets (their extended sequence
    /// numbers start over); the next output is DISCONT (new sender, flush).
    fn forget_timing(&mut self) {
        self.anchor = None;
        self.discont_pending = true;
        self.window.clear();
    }

    /// Output PTS of media sampled at `ext_ts`: the anchor's PTS plus the RTP time elapsed
    /// since the anchor (negative for reordered frames), never below zero.
    fn pts_for(&self, ext_ts: u64) -> Option<gst::ClockTime> {
        let (anchor_ts, anchor_pts) = self.anchor?;
        let clock_rate = self.clock_rate?;
        let pts = if ext_ts >= anchor_ts {
            anchor_pts
                .nseconds()
                .saturating_add(clock_to_ns(ext_ts - anchor_ts, clock_rate))
        } else {
            anchor_pts
                .nseconds()
                .saturating_sub(clock_to_ns(anchor_ts - ext_ts, clock_rate))
        };
        Some(gst::ClockTime::from_nseconds(pts))
    }
}

/// Lock rule (see also `crate::base::extensions`): no signal is emitted, no pad pushes, no message is
/// posted and no vfunc of another object (a header extension's `read`,
/// `update_non_rtp_src_caps`, `set_attributes_from_caps`) runs while `settings`, `state` or
/// `extensions` is locked: compute under the lock, act after it. A signal handler may then
/// read any property or emit any action signal of the element.
pub struct RtpBaseDepay2 {
    sink_pad: gst::Pad,
    src_pad: gst::Pad,
    settings: Mutex<Settings>,
    state: Mutex<State>,
    extensions: Mutex<HeaderExtensions>,
}

impl RtpBaseDepay2 {
    pub(super) fn src_pad(&self) -> &gst::Pad {
        &self.src_pad
    }

    /// Whether `pad` is this element's input (see `crate::base::hands_input_to_tracer`).
    pub(in crate::base) fn is_sink_pad(&self, pad: &gst::Pad) -> bool {
        self.sink_pad == *pad
    }

    pub(super) fn clock_rate(&self) -> Option<u32> {
        lock(&self.state).clock_rate
    }

    /// The virtual method table of this instance's (most derived) class.
    fn vfuncs(&self) -> &'static Class {
        vfuncs_of(self)
    }

    pub(super) fn set_src_caps(&self, caps: &gst::Caps) -> bool {
        let mut caps = caps.clone();
        let extensions = lock(&self.extensions).clone();
        extensions.update_non_rtp_caps(caps.make_mut());
        let mut state = lock(&self.state);
        if state.src_caps.as_ref() == Some(&caps) {
            return true;
        }
        gst::debug!(crate::CAT, imp = self, "Output caps {caps}");
        state.src_caps = Some(caps.clone());
        state.allocation_stale = true;
        let segment = state.pending_segment.take();
        drop(state);
        let ok = self.src_pad.push_event(gst::event::Caps::new(&caps));
        if let Some(segment) = segment {
            self.src_pad.push_event(segment);
        }
        ok
    }
}

#[glib::object_subclass]
impl ObjectSubclass for RtpBaseDepay2 {
    const NAME: &'static str = "GstRtp2BaseDepay";
    const ABSTRACT: bool = true;
    type Type = super::RtpBaseDepay2;
    type ParentType = gst::Element;
    type Class = Class;

    fn class_init(klass: &mut Self::Class) {
        klass.start = |_| Ok(());
        klass.stop = |_| Ok(());
        klass.set_sink_caps = caps_not_handled;
        klass.handle_packet = |obj, _| input_not_handled(obj, "handle_packet");
        klass.drain = |_| Ok(gst::FlowSuccess::Ok);
        klass.flush = |_| {};
        klass.sink_event = |obj, event| obj.imp().default_sink_event(event);
        klass.src_event =
            |obj, event| gst::Pad::event_default(&obj.imp().src_pad, Some(obj), event);
        klass.allowed_meta_tags = &[];
    }

    fn with_class(klass: &Self::Class) -> Self {
        let sink_templ = pad_template(klass, "sink", "depayloader");
        let sink_pad = gst::Pad::builder_from_template(&sink_templ)
            .guarded_chain(Self::sink_chain)
            .guarded_chain_list(Self::sink_chain_list)
            .guarded_event(|imp: &Self, event| (imp.vfuncs().sink_event)(&imp.obj(), event))
            .build();
        let src_templ = pad_template(klass, "src", "depayloader");
        let src_pad = gst::Pad::builder_from_template(&src_templ)
            .guarded_event(|imp: &Self, event| {
                if event.type_() == gst::EventType::Reconfigure {
                    // Downstream changed: its allocator may have too.
                    lock(&imp.state).allocation_stale = true;
                }
                (imp.vfuncs().src_event)(&imp.obj(), event)
            })
            .build();
        RtpBaseDepay2 {
            sink_pad,
            src_pad,
            settings: Mutex::new(Settings::default()),
            state: Mutex::new(State::new(DEFAULT_MAX_REORDER)),
            extensions: Mutex::new(HeaderExtensions::default()),
        }
    }
}

impl GstObjectImpl for RtpBaseDepay2 {}

impl ElementImpl for RtpBaseDepay2 {
    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::ReadyToPaused {
            let (max_reorder, source_info) = {
                let settings = lock(&self.settings);
                (settings.max_reorder, settings.source_info)
            };
            {
                let mut state = lock(&self.state);
                let (clock_rate, play_range) = (state.clock_rate, state.play_range);
                *state = State::new(max_reorder);
                state.window.set_source_info(source_info);
                state.clock_rate = clock_rate;
                state.play_range = play_range;
            }
            if let Err(err) = (self.vfuncs().start)(&self.obj()) {
                self.post_error_message(err);
                return Err(gst::StateChangeError);
            }
        }
        let res = self.parent_change_state(transition)?;
        if transition == gst::StateChange::PausedToReady {
            if let Err(err) = (self.vfuncs().stop)(&self.obj()) {
                self.post_error_message(err);
            }
            let (max_reorder, source_info) = {
                let settings = lock(&self.settings);
                (settings.max_reorder, settings.source_info)
            };
            let mut state = lock(&self.state);
            *state = State::new(max_reorder);
            state.window.set_source_info(source_info);
        }
        Ok(res)
    }
}
