// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! GObject implementation of `RtpBasePay2`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::hdrsimd::{HeaderTemplate, write_headers_auto};
use rtp2_core::rtp::{FIXED_HEADER_LEN, write_packet_header};
use rtp2_core::time::ns_to_clock;

use smallvec::SmallVec;

use super::pool::RtpPacketPool;
use super::refclk::ClockSignal;
use super::{InputId, InputRange, OutgoingPacket, PacketPayload, PacketTiming, PayloadPrefix};
use crate::base::extensions::{HeaderExtensions, configure_from_caps, lock};
use crate::base::orientation;
use crate::base::plumbing::{
    GuardedPadFunctions, add_pads, caps_not_handled, element_class_deref, input_not_handled,
    pad_template, vfuncs_of,
};

type FlowResult = Result<gst::FlowSuccess, gst::FlowError>;

// The methods of `RtpBasePay2` by concern; the types they share are in this file.
mod events;
mod header;
mod negotiate;
mod packets;
mod properties;

/// Class structure: the virtual method table that subclasses fill through
/// `IsSubclassable` (see `mod.rs`).
#[repr(C)]
pub struct Class {
    parent: gst::ffi::GstElementClass,
    /// [`super::RtpBasePay2Impl::ALLOWED_META_TAGS`] of the class.
    pub(super) allowed_meta_tags: &'static [&'static str],
    pub(super) start: fn(&super::RtpBasePay2) -> Result<(), gst::ErrorMessage>,
    pub(super) stop: fn(&super::RtpBasePay2) -> Result<(), gst::ErrorMessage>,
    pub(super) set_sink_caps: fn(&super::RtpBasePay2, &gst::Caps) -> bool,
    pub(super) handle_buffer: fn(&super::RtpBasePay2, &gst::Buffer) -> FlowResult,
    pub(super) drain: fn(&super::RtpBasePay2) -> FlowResult,
    pub(super) flush: fn(&super::RtpBasePay2),
    pub(super) sink_event: fn(&super::RtpBasePay2, gst::Event) -> bool,
    pub(super) src_event: fn(&super::RtpBasePay2, gst::Event) -> bool,
    pub(super) sink_query: fn(&super::RtpBasePay2, &mut gst::QueryRef) -> bool,
}

// SAFETY: `Class` is `#[repr(C)]` and starts with the parent class structure, as GObject
// requires of a class structure.
unsafe impl ClassStruct for Class {
    type Type = RtpBasePay2;
}

element_class_deref!(Class);

pub(crate) const DEFAULT_MTU: u32 = 1400;
const DEFAULT_PT: u32 = 96;
/// `ssrc` / `timestamp-offset` value that means "pick a random one" (as in C).
const RANDOM_U32: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Settings {
    mtu: u32,
    pt: u32,
    ssrc: u32,
    timestamp_offset: u32,
    seqnum_offset: i32,
    source_info: bool,
    scale_rtptime: bool,
    auto_header_extension: bool,
    perfect_rtptime: bool,
    buffer_list: bool,
    use_buffer_pool: bool,
    /// `min-ptime`, `max-ptime`, `ptime-multiple` (ns): used by the audio payloaders; the
    /// video ones have them, unused, as in C (GstRTPBasePayload).
    min_ptime: i64,
    max_ptime: i64,
    ptime_multiple: i64,
    /// `onvif-no-rate-control`: RTP time from the stream time (ONVIF replay, Rate-Control=no).
    onvif_no_rate_control: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mtu: DEFAULT_MTU,
            pt: DEFAULT_PT,
            ssrc: RANDOM_U32,
            timestamp_offset: RANDOM_U32,
            seqnum_offset: -1,
            source_info: false,
            scale_rtptime: true,
            auto_header_extension: true,
            perfect_rtptime: true,
            buffer_list: true,
            use_buffer_pool: true,
            min_ptime: 0,
            max_ptime: -1,
            ptime_multiple: 0,
            onvif_no_rate_control: false,
        }
    }
}

/// Streaming state, reset on start/stop.
#[derive(Debug)]
struct State {
    clock_rate: Option<u32>,
    pt: u8,
    ssrc: u32,
    seqnum_offset: u16,
    timestamp_offset: u32,
    next_seqnum: u16,
    last_seqnum: u16,
    last_timestamp: u32,
    last_running_time: Option<gst::ClockTime>,
    /// RTP timestamp of tick 0 for `PacketTiming::Continuous`.
    continuous_anchor: Option<u32>,
    segment: gst::FormattedSegment<gst::ClockTime>,
    src_caps: Option<gst::Caps>,
    /// Packets made for the current input, pushed as one list.
    pending: Vec<PendingPacket>,
    /// The kept inputs of the pending packets (see [`PacketInputs`]).
    pending_inputs: Vec<gst::Buffer>,
    /// Empty vectors with capacity, swapped with `pending` and `pending_inputs` when the
    /// packets are built.
    spare_pending: Vec<PendingPacket>,
    spare_inputs: Vec<gst::Buffer>,
    /// The id the next input buffer gets, and the id of the input being handled (the last).
    next_input: u64,
    current_input: InputId,
    /// Inputs whose metas packets still need (header extensions, `source-info` CSRCs,
    /// metas to copy), oldest first: an input leaves once a packet starting at a later input
    /// is queued (the first inputs of successive packets never go back), or on flush.
    kept_inputs: VecDeque<(InputId, gst::Buffer)>,
    /// What the current input costs per packet in header bytes.
    csrc_overhead: usize,
    ext_overhead: usize,
    /// A copy of the settings that `set_property` keeps current, and whether header
    /// extensions are enabled (checked when an input buffer or a drain starts): the
    /// per-packet path takes the state lock only.
    input_settings: Settings,
    has_extensions: bool,
    /// Snapshot of the header extensions for the current input, `None` when there are none
    /// (taken with the overheads; the extensions are called after the state lock is dropped).
    extensions: Option<HeaderExtensions>,
    /// The caps the subclass last asked for, negotiated again when the source pad needs
    /// reconfiguring (an extension was added or removed, downstream changed).
    subclass_caps: Option<gst::Caps>,
    /// The input caps, which extensions added later get too.
    sink_caps: Option<gst::Caps>,
    /// Counts output caps changes, so that subclasses can cache what they derive from caps.
    caps_generation: u64,
    packets_sent: u64,
    bytes_sent: u64,
    /// Input dropped as invalid, and when the last element warning about it was posted.
    dropped_invalid: u64,
    last_invalid_warning: Option<std::time::Instant>,
    /// The network clock the RTP timestamps follow, signalled in the output caps (RFC 7273).
    clock_signal: Option<ClockSignal>,
}

impl State {
    fn new(settings: &Settings) -> Self {
        let random_u32 = || glib::random_int();
        let ssrc = if settings.ssrc == RANDOM_U32 {
            random_u32()
        } else {
            settings.ssrc
        };
        let timestamp_offset = if settings.timestamp_offset == RANDOM_U32 {
            random_u32()
        } else {
            settings.timestamp_offset
        };
        let seqnum_offset = match u16::try_from(settings.seqnum_offset) {
            Ok(v) => v,
            Err(_) => (random_u32() & 0xffff) as u16,
        };
        State {
            clock_rate: None,
            pt: settings.pt as u8,
            ssrc,
            seqnum_offset,
            timestamp_offset,
            next_seqnum: seqnum_offset,
            last_seqnum: seqnum_offset,
            last_timestamp: timestamp_offset,
            last_running_time: None,
            continuous_anchor: None,
            segment: gst::FormattedSegment::new(),
            src_caps: None,
            pending: Vec::new(),
            spare_pending: Vec::new(),
            pending_inputs: Vec::new(),
            spare_inputs: Vec::new(),
            next_input: 0,
            current_input: InputId::default(),
            kept_inputs: VecDeque::new(),
            csrc_overhead: 0,
            ext_overhead: 0,
            input_settings: *settings,
            has_extensions: false,
            extensions: None,
            subclass_caps: None,
            sink_caps: None,
            caps_generation: 0,
            packets_sent: 0,
            bytes_sent: 0,
            dropped_invalid: 0,
            last_invalid_warning: None,
            clock_signal: None,
        }
    }
}

/// Inputs kept for their metas at most: a subclass that holds data for longer than this
/// many inputs without sending a packet gets no metas for it (its packets are still sent).
const MAX_KEPT_INPUTS: usize = 64;

/// A packet queued for the current input: its sequence number and timestamp are taken; the
/// header is written when the packets are pushed, all through one writer
/// ([`RtpBasePay2::build_packets`]), after the state lock is released.
#[derive(Debug)]
struct PendingPacket {
    seq: u16,
    timestamp: u32,
    marker: bool,
    prefix: PayloadPrefix,
    payload: PacketPayload,
    pts: Option<gst::ClockTime>,
    duration: Option<gst::ClockTime>,
    flags: gst::BufferFlags,
    /// The kept inputs of the packet's [`InputRange`]: `count` entries of the pending
    /// inputs vector from `at` on (kept apart: most packets have none); `first` tells
    /// whether the first of them is the range's first input (the one extensions and CSRCs
    /// come from).
    inputs: PacketInputs,
}

/// Where a pending packet's kept inputs are in [`State::pending_inputs`].
#[derive(Debug, Clone, Copy, Default)]
struct PacketInputs {
    at: u32,
    count: u32,
    first: bool,
}

/// What building the packets of one push needs from the state.
struct BuildParams {
    template: HeaderTemplate,
    use_pool: bool,
    source_info: bool,
    extensions: Option<HeaderExtensions>,
    /// Header memory bytes that hold any header of these packets (see `begin_input`).
    header_capacity: usize,
}

/// Lock rule (see also `crate::base::extensions`): no signal is emitted, no pad pushes, no message is
/// posted and no vfunc of another object (a header extension's `write`, `max_size`,
/// `set_non_rtp_sink_caps`, `set_attributes_from_caps`, `set_caps_from_attributes`) runs
/// while `settings`, `state` or `extensions` is locked: compute under the lock, act after it.
/// A signal handler may then read any property or emit any action signal of the element.
pub struct RtpBasePay2 {
    sink_pad: gst::Pad,
    src_pad: gst::Pad,
    settings: Mutex<Settings>,
    state: Mutex<State>,
    /// The current extension table; the streaming thread works on snapshots of it.
    extensions: Mutex<HeaderExtensions>,
    /// A reconfigure event came from downstream: negotiate again before the next input.
    reconfigure: AtomicBool,
    /// Upstream force-key-unit events seen on the source pad (RTCP PLI/FIR turned into
    /// events by rtpsession or webrtcbin), for `stats` `keyframe-requests`.
    keyframe_requests: AtomicU64,
    /// Recycles output packet buffers (see `pool.rs`).
    pool: RtpPacketPool,
    /// The last `image-orientation` tag on the sink pad, for a CVO extension
    /// (`crate::base::orientation`); `has_orientation` spares other streams the lock.
    orientation: Mutex<Option<String>>,
    has_orientation: AtomicBool,
}

impl RtpBasePay2 {
    pub(super) fn sink_pad(&self) -> &gst::Pad {
        &self.sink_pad
    }

    pub(super) fn src_pad(&self) -> &gst::Pad {
        &self.src_pad
    }

    pub(super) fn mtu(&self) -> u32 {
        lock(&self.settings).mtu
    }

    pub(super) fn perfect_rtptime(&self) -> bool {
        lock(&self.settings).perfect_rtptime
    }

    pub(super) fn clock_rate(&self) -> Option<u32> {
        lock(&self.state).clock_rate
    }

    pub(super) fn max_payload_size(&self) -> usize {
        let state = lock(&self.state);
        Self::max_payload_size_of(&state)
    }

    fn max_payload_size_of(state: &State) -> usize {
        (state.input_settings.mtu as usize)
            .saturating_sub(
                rtp2_core::rtp::FIXED_HEADER_LEN + state.csrc_overhead + state.ext_overhead,
            )
            .max(1)
    }

    /// What a subclass needs per input buffer, read under one lock.
    pub(super) fn input_params(&self) -> super::InputParams {
        let state = lock(&self.state);
        super::InputParams {
            max_payload_size: Self::max_payload_size_of(&state),
            perfect_rtptime: state.input_settings.perfect_rtptime,
            caps_generation: state.caps_generation,
            min_ptime: state.input_settings.min_ptime,
            max_ptime: state.input_settings.max_ptime,
            ptime_multiple: state.input_settings.ptime_multiple,
        }
    }

    /// The id of the input being handled (the last one during a drain).
    pub(super) fn current_input_id(&self) -> InputId {
        lock(&self.state).current_input
    }

    /// The virtual method table of this instance's (most derived) class.
    fn vfuncs(&self) -> &'static Class {
        vfuncs_of(self)
    }
}

#[glib::object_subclass]
impl ObjectSubclass for RtpBasePay2 {
    const NAME: &'static str = "GstRtp2BasePay";
    const ABSTRACT: bool = true;
    type Type = super::RtpBasePay2;
    type ParentType = gst::Element;
    type Class = Class;

    fn class_init(klass: &mut Self::Class) {
        klass.allowed_meta_tags = &[];
        klass.start = |_| Ok(());
        klass.stop = |_| Ok(());
        klass.set_sink_caps = caps_not_handled;
        klass.handle_buffer = |obj, _| input_not_handled(obj, "handle_buffer");
        klass.drain = |_| Ok(gst::FlowSuccess::Ok);
        klass.flush = |_| {};
        klass.sink_event = |obj, event| obj.imp().default_sink_event(event);
        klass.src_event =
            |obj, event| gst::Pad::event_default(&obj.imp().src_pad, Some(obj), event);
        klass.sink_query = |obj, query| obj.imp().default_sink_query(query);
    }

    fn with_class(klass: &Self::Class) -> Self {
        let sink_templ = pad_template(klass, "sink", "payloader");
        let sink_pad = gst::Pad::builder_from_template(&sink_templ)
            .guarded_chain(Self::sink_chain)
            .guarded_event(|imp: &Self, event| {
                if let Some(o) = orientation::orientation_of_tag_event(&event) {
                    *lock(&imp.orientation) = Some(o);
                    imp.has_orientation.store(true, Ordering::Relaxed);
                }
                (imp.vfuncs().sink_event)(&imp.obj(), event)
            })
            .guarded_query(|imp: &Self, query| (imp.vfuncs().sink_query)(&imp.obj(), query))
            .build();
        let src_templ = pad_template(klass, "src", "payloader");
        let src_pad = gst::Pad::builder_from_template(&src_templ)
            .guarded_event(|imp: &Self, event| {
                if event.type_() == gst::EventType::Reconfigure {
                    imp.reconfigure.store(true, Ordering::Relaxed);
                } else if gst_video::UpstreamForceKeyUnitEvent::parse(&event).is_ok() {
                    imp.keyframe_requests.fetch_add(1, Ordering::Relaxed);
                }
                (imp.vfuncs().src_event)(&imp.obj(), event)
            })
            .build();
        let settings = Settings::default();
        let mut state = State::new(&settings);
        // Before streaming starts, `seqnum` and `timestamp` read 0, as in C (READY → PAUSED
        // makes the state that picks the random offsets).
        state.last_seqnum = 0;
        state.last_timestamp = 0;
        RtpBasePay2 {
            sink_pad,
            src_pad,
            settings: Mutex::new(settings),
            state: Mutex::new(state),
            extensions: Mutex::new(HeaderExtensions::default()),
            reconfigure: AtomicBool::new(false),
            keyframe_requests: AtomicU64::new(0),
            pool: RtpPacketPool::default(),
            orientation: Mutex::new(None),
            has_orientation: AtomicBool::new(false),
        }
    }
}

impl GstObjectImpl for RtpBasePay2 {}

impl ElementImpl for RtpBasePay2 {
    fn change_state(
        &self,
        transition: gst::StateChange,
    ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::ReadyToPaused {
            let settings = *lock(&self.settings);
            *lock(&self.state) = State::new(&settings);
            if let Err(err) = (self.vfuncs().start)(&self.obj()) {
                self.post_error_message(err);
                return Err(gst::StateChangeError);
            }
        }
        if transition == gst::StateChange::PausedToPlaying {
            self.update_clock_signal();
        }
        let res = self.parent_change_state(transition)?;
        if transition == gst::StateChange::PausedToReady {
            if let Err(err) = (self.vfuncs().stop)(&self.obj()) {
                self.post_error_message(err);
            }
            let settings = *lock(&self.settings);
            *lock(&self.state) = State::new(&settings);
            *lock(&self.orientation) = None;
            self.has_orientation.store(false, Ordering::Relaxed);
        }
        Ok(res)
    }
}
