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

type FlowResult = Result<gst::FlowSuccess, gst::FlowError>;

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

impl std::ops::Deref for Class {
    type Target = glib::Class<gst::Element>;
    fn deref(&self) -> &Self::Target {
        // SAFETY: `parent` is the first field of this `#[repr(C)]` struct and
        // `glib::Class<gst::Element>` is a transparent wrapper of `GstElementClass`.
        unsafe { &*(&self.parent as *const _ as *const glib::Class<gst::Element>) }
    }
}

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

    /// Copies the settings and the header-extension overhead for the packets of `input`
    /// (`None`: a drain, which keeps the last input's id and overheads), numbers the input and
    /// keeps it while packets may need its metas. False when no output caps have been
    /// negotiated yet.
    fn begin_input(&self, input: Option<&gst::Buffer>) -> bool {
        // The extensions are asked for their size on a snapshot, without lock.
        let snapshot = |e: &HeaderExtensions| (!e.is_empty()).then(|| e.clone());
        let (mut extensions, changed) = {
            let mut extensions = lock(&self.extensions);
            let changed = input.is_some() && extensions.take_changed();
            (snapshot(&extensions), changed)
        };
        let reconfigure = input.is_some()
            && self.reconfigure.load(Ordering::Relaxed)
            && self.reconfigure.swap(false, Ordering::Relaxed);
        if changed || reconfigure {
            self.renegotiate();
            extensions = snapshot(&lock(&self.extensions));
        }
        let ext_overhead = input.map(|b| extensions.as_ref().map_or(0, |e| e.max_overhead(b)));
        let has_extensions = extensions.is_some();
        let allowed = self.vfuncs().allowed_meta_tags;
        let has_metas = input.is_some_and(|b| has_copyable_meta(b, allowed));
        let mut state = lock(&self.state);
        if state.src_caps.is_none() {
            return false;
        }
        state.has_extensions = has_extensions;
        state.extensions = extensions;
        let source_info = state.input_settings.source_info;
        if let Some(input) = input {
            let id = InputId(state.next_input);
            state.next_input += 1;
            state.current_input = id;
            state.ext_overhead = ext_overhead.unwrap_or(0);
            state.csrc_overhead = if source_info {
                4 * csrcs_from_meta(input).len()
            } else {
                0
            };
            // Kept only for what reads its metas; otherwise the packets may end up the only
            // holders of its memories, which then move instead of being shared.
            if source_info || has_extensions || has_metas {
                if state.kept_inputs.len() >= MAX_KEPT_INPUTS {
                    state.kept_inputs.pop_front();
                }
                state.kept_inputs.push_back((id, input.clone()));
            }
        }
        true
    }

    /// The id of the input being handled (the last one during a drain).
    pub(super) fn current_input_id(&self) -> InputId {
        lock(&self.state).current_input
    }

    /// The virtual method table of this instance's (most derived) class.
    fn vfuncs(&self) -> &'static Class {
        let obj = self.obj();
        let class: &Class = obj.class().as_ref();
        // SAFETY: the class structure of a static GType is allocated once and never freed,
        // so it outlives the borrow of `obj`.
        unsafe { &*(class as *const Class) }
    }

    /// The source pad needs reconfiguring (`add-extension`, `clear-extensions`, a reconfigure
    /// event from downstream): negotiates the subclass's last caps again, as the C base class
    /// does before its next input buffer, so that the `extmap-N` fields follow the table.
    /// (Flags of our own, not the pad's NEED_RECONFIGURE: reading that takes the pad's object
    /// lock for every input buffer.)
    fn renegotiate(&self) {
        let Some(caps) = lock(&self.state).subclass_caps.clone() else {
            return;
        };
        gst::debug!(crate::CAT, imp = self, "Renegotiating output caps");
        if !self.set_src_caps(&caps) {
            gst::warning!(
                crate::CAT,
                imp = self,
                "Renegotiation failed; retrying later"
            );
            self.reconfigure.store(true, Ordering::Relaxed);
        }
    }

    /// Negotiates the RTP caps from the subclass's `caps` and what downstream accepts.
    /// Header extensions named downstream (`extmap-N`) are set up with no lock held (a
    /// `request-extension` handler may use the element); the caps go out after the lock.
    pub(super) fn set_src_caps(&self, caps: &gst::Caps) -> bool {
        let settings = *lock(&self.settings);
        let Some(wanted) = caps.structure(0) else {
            gst::error!(crate::CAT, imp = self, "Subclass gave empty caps");
            return false;
        };
        let wanted = gst::Caps::builder_full()
            .structure(wanted.to_owned())
            .build();
        let peer = self.src_pad.peer_query_caps(Some(&wanted));
        let candidates = if peer.is_any() { wanted } else { peer };
        let Some(first) = candidates.structure(0) else {
            gst::warning!(crate::CAT, imp = self, "Downstream accepts none of {caps}");
            return false;
        };
        let mut s = first.to_owned();
        if s.has_field("payload") {
            s.fixate_field_nearest_int("payload", settings.pt as i32);
        }
        let mut state = lock(&self.state);
        state.subclass_caps = Some(caps.clone());
        if state.packets_sent == 0 {
            // Properties set after READY → PAUSED but before any packet still apply.
            if settings.ssrc != RANDOM_U32 {
                state.ssrc = settings.ssrc;
            }
            if settings.timestamp_offset != RANDOM_U32 {
                state.timestamp_offset = settings.timestamp_offset;
            }
            if let Ok(offset) = u16::try_from(settings.seqnum_offset) {
                state.seqnum_offset = offset;
                state.next_seqnum = offset;
            }
        }
        if let Ok(pt) = s.get::<i32>("payload") {
            if !(0..=127).contains(&pt) {
                gst::warning!(crate::CAT, imp = self, "Payload type {pt} out of range");
                return false;
            }
            state.pt = pt as u8;
        } else {
            s.set("payload", i32::from(state.pt));
        }
        // Downstream may fix the SSRC and the offsets (as with the C base class).
        if let Ok(ssrc) = s.get::<u32>("ssrc") {
            state.ssrc = ssrc;
        }
        if let Ok(offset) = s.get::<u32>("timestamp-offset") {
            state.timestamp_offset = offset;
        }
        if let Ok(offset) = s.get::<u32>("seqnum-offset")
            && let Ok(offset) = u16::try_from(offset)
            && state.packets_sent == 0
        {
            state.seqnum_offset = offset;
            state.next_seqnum = offset;
        }
        s.set("ssrc", state.ssrc);
        s.set("timestamp-offset", state.timestamp_offset);
        s.set("seqnum-offset", u32::from(state.seqnum_offset));
        let Ok(clock_rate) = s.get::<i32>("clock-rate") else {
            gst::error!(crate::CAT, imp = self, "No clock-rate in {s}");
            return false;
        };
        state.clock_rate = u32::try_from(clock_rate).ok().filter(|r| *r > 0);
        // ONVIF replay timestamps follow the recording, not the clock: no clock to signal.
        if let (Some(signal), Some(rate), false) = (
            &state.clock_signal,
            state.clock_rate,
            settings.onvif_no_rate_control,
        ) {
            signal.set_fields(&mut s, state.timestamp_offset, rate);
        }
        let sink_caps = state.sink_caps.clone();
        drop(state);
        let mut out = gst::Caps::builder_full().structure(s).build();
        let element = self.obj();
        let added = configure_from_caps(
            element.upcast_ref(),
            &self.extensions,
            &out,
            settings.auto_header_extension,
        );
        if let Some(sink_caps) = sink_caps {
            let added = HeaderExtensions::from_list(added);
            added.set_non_rtp_sink_caps(element.upcast_ref(), &sink_caps);
        }
        let extensions = lock(&self.extensions).clone();
        extensions.set_caps_fields(out.make_mut());
        out.fixate();
        let mut state = lock(&self.state);
        if state.src_caps.as_ref() == Some(&out) {
            return true;
        }
        gst::debug!(crate::CAT, imp = self, "Output caps {out}");
        state.src_caps = Some(out.clone());
        state.caps_generation = state.caps_generation.wrapping_add(1);
        drop(state);
        self.src_pad.push_event(gst::event::Caps::new(&out))
    }

    /// Takes the pipeline clock and base time on the way to PLAYING (both are set by then,
    /// and the base time changes at every PLAYING): when they change what the output caps
    /// signal (RFC 7273, see `refclk.rs`), the caps are negotiated again before the next
    /// input.
    fn update_clock_signal(&self) {
        let element = self.obj();
        let signal = element
            .clock()
            .zip(element.base_time())
            .and_then(|(clock, base_time)| ClockSignal::of(&clock, base_time));
        let mut state = lock(&self.state);
        // The RTP timestamps must follow the signalled clock: sample-counted (continuous)
        // timing takes its anchor again from the next timestamp, or a pause would leave the
        // RTP timeline off the clock by the gap the source's timestamps make at resumption.
        if signal.is_some() {
            state.continuous_anchor = None;
        }
        if state.clock_signal != signal {
            gst::debug!(crate::CAT, imp = self, "Clock signalling now {signal:?}");
            state.clock_signal = signal;
            self.reconfigure.store(true, Ordering::Relaxed);
        }
    }

    /// Takes the sequence number and RTP timestamp of a subclass packet and queues it with its
    /// inputs; the header is written when the packets are pushed (`build_packets`).
    pub(super) fn queue_packet(&self, packet: OutgoingPacket) {
        let mut state = lock(&self.state);
        let scale_rtptime = state.input_settings.scale_rtptime;
        let (pts, rtp_timestamp) = match packet.timing {
            PacketTiming::Pts(pts) => {
                let ts = pts
                    .and_then(|pts| self.rtp_time_for(&mut state, pts, scale_rtptime))
                    .unwrap_or(state.last_timestamp);
                (pts, ts)
            }
            PacketTiming::Continuous { pts, ticks } => {
                if ticks == 0 || state.continuous_anchor.is_none() {
                    let at_pts = pts
                        .and_then(|pts| self.rtp_time_for(&mut state, pts, scale_rtptime))
                        .unwrap_or(state.last_timestamp);
                    state.continuous_anchor = Some(at_pts.wrapping_sub(ticks as u32));
                }
                let anchor = state.continuous_anchor.unwrap_or(state.last_timestamp);
                (pts, anchor.wrapping_add(ticks as u32))
            }
        };
        let flags = packet.buffer_flags();
        let range = packet
            .inputs
            .unwrap_or_else(|| InputRange::single(state.current_input));
        // The first inputs of successive packets never go back: older inputs are done.
        while state
            .kept_inputs
            .front()
            .is_some_and(|(id, _)| *id < range.first)
        {
            state.kept_inputs.pop_front();
        }
        let mut inputs = PacketInputs::default();
        if !state.kept_inputs.is_empty() {
            let state = &mut *state;
            inputs.at = state.pending_inputs.len() as u32;
            inputs.first = state
                .kept_inputs
                .front()
                .is_some_and(|(id, _)| *id == range.first);
            for (id, buffer) in state.kept_inputs.iter() {
                if *id > range.last {
                    break;
                }
                state.pending_inputs.push(buffer.clone());
                inputs.count += 1;
            }
        }
        let payload_len = packet.prefix.as_slice().len() + packet.payload.size();
        let seq = state.next_seqnum;
        Self::count_packet(&mut state, rtp_timestamp, payload_len);
        state.pending.push(PendingPacket {
            seq,
            timestamp: rtp_timestamp,
            marker: packet.marker,
            prefix: packet.prefix,
            payload: packet.payload,
            pts,
            duration: packet.duration,
            flags,
            inputs,
        });
    }

    /// Sequence number, timestamp and statistics after one packet.
    fn count_packet(state: &mut State, rtp_timestamp: u32, payload_len: usize) {
        state.last_seqnum = state.next_seqnum;
        state.next_seqnum = state.next_seqnum.wrapping_add(1);
        state.last_timestamp = rtp_timestamp;
        state.packets_sent += 1;
        state.bytes_sent += payload_len as u64;
    }

    /// Output buffers of the queued packets, each header written by one writer in place into
    /// the packet's header memory (pooled when possible): first the fixed 12 bytes of all
    /// packets, in batches of consecutive sequence numbers (SIMD where the CPU has it), then
    /// per packet the CSRCs, the header extension block and the payload-format prefix
    /// ([`write_packet_header`]). Runs without any lock held: header extensions write here
    /// (from the first input of the packet), and allowed metas are copied from its inputs.
    fn build_packets(
        &self,
        pending: &mut Vec<PendingPacket>,
        pending_inputs: &[gst::Buffer],
        params: &BuildParams,
    ) -> SmallVec<[gst::Buffer; 16]> {
        let mut timestamps: SmallVec<[u32; 16]> = SmallVec::new();
        let mut markers: SmallVec<[bool; 16]> = SmallVec::new();
        let mut runs: SmallVec<[(u16, usize); 4]> = SmallVec::new();
        for p in pending.iter() {
            let continues = runs
                .last()
                .is_some_and(|(first, len)| first.wrapping_add(*len as u16) == p.seq);
            match runs.last_mut() {
                Some((_, len)) if continues => *len += 1,
                _ => runs.push((p.seq, 1)),
            }
            timestamps.push(p.timestamp);
            markers.push(p.marker);
        }
        let mut headers: SmallVec<[[u8; FIXED_HEADER_LEN]; 16]> =
            smallvec::smallvec![[0u8; FIXED_HEADER_LEN]; timestamps.len()];
        let mut at = 0;
        for (first_seq, len) in runs {
            let range = at..at + len;
            write_headers_auto(
                &params.template,
                first_seq,
                &timestamps[range.clone()],
                &markers[range.clone()],
                &mut headers[range],
            );
            at += len;
        }
        let element = self.obj();
        let allowed_tags = self.vfuncs().allowed_meta_tags;
        let mut out = SmallVec::with_capacity(pending.len());
        for (p, fixed) in pending.drain(..).zip(headers.iter()) {
            let range = p.inputs.at as usize..(p.inputs.at + p.inputs.count) as usize;
            let inputs = pending_inputs.get(range).unwrap_or_default();
            let first_input = inputs.first().filter(|_| p.inputs.first);
            let csrcs = match first_input {
                Some(input) if params.source_info => csrcs_from_meta(input),
                _ => Vec::new(),
            };
            let prefix = p.prefix.as_slice();
            // Header bytes without an extension block, and the memory size to ask for.
            let len = FIXED_HEADER_LEN + 4 * csrcs.len() + prefix.len();
            let capacity = if params.extensions.is_some() {
                params.header_capacity
            } else {
                len
            };
            let write_plain =
                |mem: &mut [u8]| write_packet_header(mem, fixed, &csrcs, None, prefix);
            let output = match p.payload {
                // A payload that is a buffer the payloader alone holds (typically the whole
                // input) becomes the packet: the header memory goes in front of its memory.
                PacketPayload::Buffer(mut buffer) if buffer.is_writable() => {
                    let mut header = gst::Memory::with_size(capacity);
                    let written = match header.get_mut() {
                        Some(mem) => write_memory(mem, len, write_plain),
                        None => Err("new memory not writable".into()),
                    };
                    written.map(|()| {
                        let b = buffer.make_mut();
                        crate::memshare::clear_metadata(b);
                        b.insert_memory(0, header);
                        buffer
                    })
                }
                payload => {
                    let mut output = if params.use_pool {
                        self.pool.packet_buffer(capacity)
                    } else {
                        buffer_with_header_memory(capacity)
                    };
                    write_header_memory(output.make_mut(), capacity, len, write_plain).map(|()| {
                        append_payload(&mut output, payload);
                        output
                    })
                }
            };
            let mut output = match output {
                Ok(output) => output,
                Err(err) => {
                    gst::error!(crate::CAT, imp = self, "Cannot write RTP header: {err}");
                    continue;
                }
            };
            if let Some(extensions) = &params.extensions {
                let input = first_input.cloned().unwrap_or_default();
                // The extension sees the packet as it will be, minus its own block.
                if let Some((profile, block)) =
                    extensions.write(element.upcast_ref(), &input, &output)
                {
                    let len = len + 4 + block.len();
                    let written = write_header_memory(output.make_mut(), len, len, |mem| {
                        write_packet_header(mem, fixed, &csrcs, Some((profile, &block)), prefix)
                    });
                    if let Err(err) = written {
                        gst::warning!(crate::CAT, imp = self, "Header extension dropped: {err}");
                    }
                }
            }
            {
                let b = output.make_mut();
                for input in inputs {
                    copy_allowed_metas(input, b, allowed_tags);
                }
                b.set_pts(p.pts);
                b.set_duration(p.duration);
                set_packet_flags(b, p.flags);
            }
            out.push(output);
        }
        out
    }

    /// RTP timestamp of `pts` (RFC 3550 §5.1): running time scaled to the clock rate, plus
    /// the random offset, wrapping at 32 bits.
    fn rtp_time_for(&self, state: &mut State, pts: gst::ClockTime, scale: bool) -> Option<u32> {
        let clock_rate = state.clock_rate?;
        let running_time = if state.input_settings.onvif_no_rate_control {
            // ONVIF replay with Rate-Control=no: the RTP clock tells the recording's own
            // time (the stream time), whatever the rate and position of playback (as C).
            state.segment.to_stream_time(pts)?
        } else if scale {
            state.segment.to_running_time(pts)?
        } else {
            // Without scaling, rate changes of the segment do not speed up the RTP clock.
            let start = state.segment.start().unwrap_or(gst::ClockTime::ZERO);
            let base = state.segment.base().unwrap_or(gst::ClockTime::ZERO);
            pts.checked_sub(start)? + base
        };
        state.last_running_time = Some(running_time);
        let ticks = ns_to_clock(running_time.nseconds(), clock_rate);
        Some(state.timestamp_offset.wrapping_add(ticks as u32))
    }

    /// Pushes what was queued, as one buffer list when there are several packets. The
    /// packets are built after the state lock is released (header extensions write then).
    pub(super) fn push_pending(&self) -> FlowResult {
        let (packets, buffer_list) = {
            let mut state = lock(&self.state);
            if state.pending.is_empty() {
                return Ok(gst::FlowSuccess::Ok);
            }
            let settings = state.input_settings;
            let header_capacity = super::pool::HEADER_CAPACITY.max(
                FIXED_HEADER_LEN
                    + state.csrc_overhead
                    + state.ext_overhead
                    + PayloadPrefix::CAPACITY,
            );
            let params = BuildParams {
                template: HeaderTemplate {
                    payload_type: state.pt,
                    ssrc: state.ssrc,
                },
                use_pool: settings.use_buffer_pool,
                source_info: settings.source_info,
                extensions: state.extensions.clone(),
                header_capacity,
            };
            if params.extensions.is_none() && state.pending_inputs.is_empty() {
                // Nothing foreign runs (no header extension, no meta to copy): built under
                // the lock, straight from the state's vector, which keeps its capacity.
                let state = &mut *state;
                let packets = self.build_packets(&mut state.pending, &[], &params);
                (packets, settings.buffer_list)
            } else {
                // Header extensions write and meta transforms run: without the lock.
                let spare = std::mem::take(&mut state.spare_pending);
                let mut pending = std::mem::replace(&mut state.pending, spare);
                let spare = std::mem::take(&mut state.spare_inputs);
                let mut inputs = std::mem::replace(&mut state.pending_inputs, spare);
                drop(state);
                let packets = self.build_packets(&mut pending, &inputs, &params);
                // The emptied vectors keep their capacity for the next input.
                inputs.clear();
                let mut state = lock(&self.state);
                state.spare_pending = pending;
                state.spare_inputs = inputs;
                (packets, settings.buffer_list)
            }
        };
        match packets.len() {
            0 => Ok(gst::FlowSuccess::Ok),
            1 => self
                .src_pad
                .push(packets.into_iter().next().unwrap_or_default()),
            _ if buffer_list => {
                let mut list = gst::BufferList::new_sized(packets.len());
                {
                    let list = list.get_mut().ok_or(gst::FlowError::Error)?;
                    for buffer in packets {
                        list.add(buffer);
                    }
                }
                self.src_pad.push_list(list)
            }
            _ => {
                for buffer in packets {
                    self.src_pad.push(buffer)?;
                }
                Ok(gst::FlowSuccess::Ok)
            }
        }
    }

    /// Counts bad input; GST_WARNING every time, an element warning at most once a second,
    /// posted after the state lock is released.
    pub(super) fn drop_invalid_input(&self, reason: &dyn std::fmt::Display) {
        gst::warning!(crate::CAT, imp = self, "Dropping invalid input: {reason}");
        let post = {
            let mut state = lock(&self.state);
            state.dropped_invalid += 1;
            let now = std::time::Instant::now();
            let due = state
                .last_invalid_warning
                .is_none_or(|t| now.duration_since(t) >= std::time::Duration::from_secs(1));
            if due {
                state.last_invalid_warning = Some(now);
            }
            due
        };
        if post {
            gst::element_imp_warning!(
                self,
                gst::StreamError::Format,
                ["Dropping invalid input: {reason}"]
            );
        }
    }

    fn sink_chain(&self, buffer: gst::Buffer) -> FlowResult {
        if !self.begin_input(Some(&buffer)) {
            gst::element_imp_error!(
                self,
                gst::CoreError::Negotiation,
                ["No input caps before the first buffer"]
            );
            return Err(gst::FlowError::NotNegotiated);
        };
        let res = (self.vfuncs().handle_buffer)(&self.obj(), &buffer);
        // Our reference goes before the packets are built: a payload that was the whole input
        // is then writable and gives its memories to the packet (no second parent, which
        // GStreamer would allocate for).
        drop(buffer);
        let pushed = self.push_pending();
        res.and(pushed)
    }

    fn drain_and_push(&self) -> FlowResult {
        // Nothing to drain before caps.
        let _ = self.begin_input(None);
        let res = (self.vfuncs().drain)(&self.obj());
        let pushed = self.push_pending();
        res.and(pushed)
    }

    /// Default sink event handling (the base class's `sink_event`).
    fn default_sink_event(&self, event: gst::Event) -> bool {
        use gst::EventView;
        match event.view() {
            EventView::Caps(c) => {
                let caps = c.caps_owned();
                if self.drain_and_push().is_err() {
                    gst::debug!(crate::CAT, imp = self, "Drain before new caps failed");
                }
                // Every extension sees the input caps, as with the C base class (extensions
                // added later get them when added).
                lock(&self.state).sink_caps = Some(caps.clone());
                let extensions = lock(&self.extensions).clone();
                extensions.set_non_rtp_sink_caps(self.obj().upcast_ref(), &caps);
                let ok = (self.vfuncs().set_sink_caps)(&self.obj(), &caps);
                if !ok {
                    gst::warning!(crate::CAT, imp = self, "Cannot handle input caps {caps}");
                }
                ok
            }
            EventView::Segment(s) => {
                lock(&self.state).segment = time_segment_of(s.segment());
                self.src_pad.push_event(event)
            }
            EventView::FlushStop(_) => {
                (self.vfuncs().flush)(&self.obj());
                {
                    let mut state = lock(&self.state);
                    state.pending.clear();
                    state.pending_inputs.clear();
                    state.kept_inputs.clear();
                    state.segment = gst::FormattedSegment::new();
                    state.continuous_anchor = None;
                }
                self.src_pad.push_event(event)
            }
            EventView::Eos(_) => {
                if let Err(err) = self.drain_and_push() {
                    gst::debug!(crate::CAT, imp = self, "Drain at EOS: {err:?}");
                }
                self.src_pad.push_event(event)
            }
            _ => gst::Pad::event_default(&self.sink_pad, Some(&*self.obj()), event),
        }
    }

    fn default_sink_query(&self, query: &mut gst::QueryRef) -> bool {
        gst::Pad::query_default(&self.sink_pad, Some(&*self.obj()), query)
    }

    fn stats(&self) -> gst::Structure {
        let pool = self.pool.stats();
        let state = lock(&self.state);
        gst::Structure::builder("application/x-rtp-payload-stats")
            .field("clock-rate", state.clock_rate.unwrap_or(0))
            .field(
                "running-time",
                state.last_running_time.map_or(u64::MAX, |t| t.nseconds()),
            )
            .field("seqnum", u32::from(state.last_seqnum))
            .field("timestamp", state.last_timestamp)
            .field("ssrc", state.ssrc)
            .field("pt", u32::from(state.pt))
            .field("seqnum-offset", u32::from(state.seqnum_offset))
            .field("timestamp-offset", state.timestamp_offset)
            .field("packets-sent", state.packets_sent)
            .field("bytes-sent", state.bytes_sent)
            .field("dropped-invalid", state.dropped_invalid)
            .field(
                "keyframe-requests",
                self.keyframe_requests.load(Ordering::Relaxed),
            )
            .field("pool-hits", pool.hits)
            .field("pool-misses", pool.misses)
            .field("pool-allocations-avoided", pool.hits)
            .field("pool-returned", pool.returned)
            .field("pool-discarded", pool.discarded)
            .build()
    }
}

/// Sets the packet flags of [`OutgoingPacket::buffer_flags`] (a reused buffer may carry old
/// ones).
fn set_packet_flags(buffer: &mut gst::BufferRef, flags: gst::BufferFlags) {
    buffer.unset_flags(
        gst::BufferFlags::DISCONT | gst::BufferFlags::DELTA_UNIT | gst::BufferFlags::MARKER,
    );
    buffer.set_flags(flags);
}

/// The TIME segment that maps input timestamps to running time. Other formats (BYTES from
/// `filesrc`, as with the C payloaders, which accept any segment) have no time mapping:
/// buffer timestamps, when there are any, are taken as running times (an open TIME segment
/// from 0).
fn time_segment_of(segment: &gst::Segment) -> gst::FormattedSegment<gst::ClockTime> {
    match segment.downcast_ref::<gst::ClockTime>() {
        Some(segment) => segment.clone(),
        None => {
            gst::debug!(
                crate::CAT,
                "{:?} segment: timestamps taken as running times",
                segment.format()
            );
            gst::FormattedSegment::new()
        }
    }
}

/// Appends the payload's memories to a packet without copying a byte: a payload buffer
/// nobody else holds gives its memories away; a shared one (e.g. a region of the input) is
/// read memory by memory, since appending it whole would first copy the buffer.
fn append_payload(output: &mut gst::Buffer, payload: PacketPayload) {
    match payload {
        PacketPayload::Buffer(payload) if payload.is_writable() => output.append(payload),
        PacketPayload::Buffer(payload) => {
            let out = output.make_mut();
            for mem in payload.iter_memories_owned() {
                out.append_memory(mem);
            }
        }
        PacketPayload::Memories(memories) => {
            let out = output.make_mut();
            for mem in memories {
                out.append_memory(mem);
            }
        }
    }
}

/// A packet buffer without pool, with a header memory of `capacity` bytes: one allocation
/// for the memory (data included) and one for the buffer, as `gst_buffer_new_allocate` does.
fn buffer_with_header_memory(capacity: usize) -> gst::Buffer {
    let mut buffer = gst::Buffer::new();
    if let Some(b) = buffer.get_mut() {
        b.append_memory(gst::Memory::with_size(capacity));
    }
    buffer
}

/// Runs the header writer `write` on the first memory of `buffer` (the header memory) for a
/// header of `len` bytes. A header memory that is shared (a copy downstream still holds it)
/// or smaller than `len` is first replaced by a new one of `capacity` bytes.
fn write_header_memory(
    buffer: &mut gst::BufferRef,
    capacity: usize,
    len: usize,
    write: impl FnOnce(&mut [u8]) -> Result<usize, rtp2_core::rtp::RtpWriteError>,
) -> Result<(), String> {
    let fits = buffer.n_memory() > 0 && {
        let mem = buffer.peek_memory(0);
        mem.offset() == 0 && mem.maxsize() >= len
    };
    if !fits {
        let memory = gst::Memory::with_size(capacity.max(len));
        if buffer.n_memory() > 0 {
            buffer.replace_memory(0, memory);
        } else {
            buffer.prepend_memory(memory);
        }
    }
    match buffer.peek_memory_mut(0) {
        Ok(mem) => write_memory(mem, len, write),
        Err(_) => {
            buffer.replace_memory(0, gst::Memory::with_size(capacity.max(len)));
            let mem = buffer.peek_memory_mut(0).map_err(|e| e.to_string())?;
            write_memory(mem, len, write)
        }
    }
}

/// Sets `mem` (offset 0, at least `len` bytes allocated) to `len` bytes and runs the header
/// writer on them.
fn write_memory(
    mem: &mut gst::MemoryRef,
    len: usize,
    write: impl FnOnce(&mut [u8]) -> Result<usize, rtp2_core::rtp::RtpWriteError>,
) -> Result<(), String> {
    if mem.size() != len {
        mem.resize_maxsize(0..len);
    }
    let mut map = mem.map_writable().map_err(|e| e.to_string())?;
    write(&mut map).map(|_| ()).map_err(|e| e.to_string())
}

/// Whether `buffer` has a meta that [`copy_allowed_metas`] would copy.
fn has_copyable_meta(buffer: &gst::BufferRef, allowed_tags: &[&str]) -> bool {
    buffer
        .iter_meta::<gst::Meta>()
        .any(|meta| meta_allowed(&meta, allowed_tags))
}

/// A meta with no tag, or only tags of `allowed_tags` (`gst_rtp_copy_meta` in C copies a meta
/// with no tag or with the one tag of the media).
///
/// `RTPSourceMeta` is never copied: it describes the sources of one RTP hop, and the base
/// classes make their own from the RTP header (`source-info`), so a copy would give a packet
/// or an output two of them.
fn meta_allowed(meta: &gst::MetaRef<'_, gst::Meta>, allowed_tags: &[&str]) -> bool {
    meta.api() != <gst_rtp::RTPSourceMeta as gst::prelude::MetaAPI>::meta_api()
        && meta
            .tags()
            .iter()
            .all(|tag| allowed_tags.contains(&tag.as_str()))
}

/// Copies the allowed metas of the input `from` to the packet `to`.
fn copy_allowed_metas(from: &gst::BufferRef, to: &mut gst::BufferRef, allowed_tags: &[&str]) {
    for meta in from.iter_meta::<gst::Meta>() {
        if meta_allowed(&meta, allowed_tags)
            && meta
                .transform(to, &gst::meta::MetaTransformCopy::new(..))
                .is_err()
        {
            gst::debug!(crate::CAT, "Cannot copy a {} meta", meta.api());
        }
    }
}

/// The CSRCs that `source-info` writes: the SSRC and CSRCs of the input's `RTPSourceMeta`
/// (RFC 3550 §5.1: the contributing sources of a mixed packet), at most 15.
fn csrcs_from_meta(buffer: &gst::Buffer) -> Vec<u32> {
    let Some(meta) = buffer.meta::<gst_rtp::RTPSourceMeta>() else {
        return Vec::new();
    };
    meta.ssrc()
        .into_iter()
        .chain(meta.csrc().iter().copied())
        .take(rtp2_core::rtp::MAX_CSRC_COUNT)
        .collect()
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
        klass.set_sink_caps = |obj, caps| {
            gst::error!(
                crate::CAT,
                obj = obj,
                "{} does not handle caps {caps}",
                obj.type_().name()
            );
            false
        };
        klass.handle_buffer = |obj, _| {
            gst::error!(
                crate::CAT,
                obj = obj,
                "{} has no handle_buffer",
                obj.type_().name()
            );
            Err(gst::FlowError::NotSupported)
        };
        klass.drain = |_| Ok(gst::FlowSuccess::Ok);
        klass.flush = |_| {};
        klass.sink_event = |obj, event| obj.imp().default_sink_event(event);
        klass.src_event =
            |obj, event| gst::Pad::event_default(&obj.imp().src_pad, Some(obj), event);
        klass.sink_query = |obj, query| obj.imp().default_sink_query(query);
    }

    fn with_class(klass: &Self::Class) -> Self {
        let sink_templ = klass
            .pad_template("sink")
            .unwrap_or_else(|| panic!("payloader class has no 'sink' pad template"));
        let src_templ = klass
            .pad_template("src")
            .unwrap_or_else(|| panic!("payloader class has no 'src' pad template"));
        let sink_pad = gst::Pad::builder_from_template(&sink_templ)
            .chain_function(|_pad, parent, buffer| {
                RtpBasePay2::catch_panic_pad_function(
                    parent,
                    || Err(gst::FlowError::Error),
                    |imp| imp.sink_chain(buffer),
                )
            })
            .event_function(|_pad, parent, event| {
                RtpBasePay2::catch_panic_pad_function(
                    parent,
                    || false,
                    |imp| (imp.vfuncs().sink_event)(&imp.obj(), event),
                )
            })
            .query_function(|_pad, parent, query| {
                RtpBasePay2::catch_panic_pad_function(
                    parent,
                    || false,
                    |imp| (imp.vfuncs().sink_query)(&imp.obj(), query),
                )
            })
            .build();
        let src_pad = gst::Pad::builder_from_template(&src_templ)
            .event_function(|_pad, parent, event| {
                RtpBasePay2::catch_panic_pad_function(
                    parent,
                    || false,
                    |imp| {
                        if event.type_() == gst::EventType::Reconfigure {
                            imp.reconfigure.store(true, Ordering::Relaxed);
                        } else if gst_video::UpstreamForceKeyUnitEvent::parse(&event).is_ok() {
                            imp.keyframe_requests.fetch_add(1, Ordering::Relaxed);
                        }
                        (imp.vfuncs().src_event)(&imp.obj(), event)
                    },
                )
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
        }
    }
}

impl ObjectImpl for RtpBasePay2 {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecUInt::builder("mtu")
                    .nick("MTU")
                    .blurb("Maximum size of one packet")
                    .minimum(28)
                    .default_value(DEFAULT_MTU)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("pt")
                    .nick("payload type")
                    .blurb("The payload type of the packets")
                    .maximum(0x7f)
                    .default_value(DEFAULT_PT)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("ssrc")
                    .nick("SSRC")
                    .blurb("The SSRC of the packets (default == random)")
                    .default_value(RANDOM_U32)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("timestamp-offset")
                    .nick("Timestamp Offset")
                    .blurb("Offset to add to all outgoing timestamps (default = random)")
                    .default_value(RANDOM_U32)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecInt::builder("seqnum-offset")
                    .nick("Sequence number Offset")
                    .blurb("Offset to add to all outgoing seqnum (-1 = random)")
                    .minimum(-1)
                    .maximum(0xffff)
                    .default_value(-1)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("seqnum")
                    .nick("Sequence number")
                    .blurb("The RTP sequence number of the last processed packet")
                    .maximum(0xffff)
                    .read_only()
                    .build(),
                glib::ParamSpecUInt::builder("timestamp")
                    .nick("Timestamp")
                    .blurb("The RTP timestamp of the last processed packet")
                    .read_only()
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                    .nick("Statistics")
                    .blurb("Various statistics")
                    .read_only()
                    .build(),
                glib::ParamSpecBoolean::builder("source-info")
                    .nick("RTP source information")
                    .blurb("Write CSRC based on buffer meta RTP source information")
                    .default_value(false)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("scale-rtptime")
                    .nick("Scale RTP time")
                    .blurb("Whether the RTP timestamp should be scaled with the rate (speed)")
                    .default_value(true)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("perfect-rtptime")
                    .nick("Perfect RTP Time")
                    .blurb("Generate perfect RTP timestamps when possible")
                    .default_value(true)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("auto-header-extension")
                    .nick("Automatic RTP header extension")
                    .blurb(
                        "Whether RTP header extensions should be automatically enabled, \
                         if an implementation is available",
                    )
                    .default_value(true)
                    .mutable_ready()
                    .build(),
                gst::ParamSpecArray::builder("extensions")
                    .nick("RTP header extensions")
                    .blurb("A list of already enabled RTP header extensions")
                    .element_spec(
                        &glib::ParamSpecObject::builder::<gst_rtp::RTPHeaderExtension>("extension")
                            .read_only()
                            .build(),
                    )
                    .read_only()
                    .build(),
                glib::ParamSpecBoolean::builder("buffer-list")
                    .nick("Buffer List")
                    .blurb("Push the packets made from one input buffer as one buffer list")
                    .default_value(true)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecInt64::builder("min-ptime")
                    .nick("Min packet time")
                    .blurb("Minimum duration of the packet data in ns (can't go above MTU)")
                    .minimum(0)
                    .default_value(0)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecInt64::builder("max-ptime")
                    .nick("Max packet time")
                    .blurb(
                        "Maximum duration of the packet data in ns (-1 = audio: 20 ms, or the \
                         ptime/maxptime of downstream caps; unused by video payloaders)",
                    )
                    .minimum(-1)
                    .default_value(-1)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecInt64::builder("ptime-multiple")
                    .nick("Packet time multiple")
                    .blurb("Force buffers to be multiples of this duration in ns (0 disables)")
                    .minimum(0)
                    .default_value(0)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("onvif-no-rate-control")
                    .nick("ONVIF no rate control")
                    .blurb(
                        "Enable ONVIF Rate-Control=no timestamping mode: RTP time from the \
                         stream time of the segment instead of the running time",
                    )
                    .default_value(false)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("use-buffer-pool")
                    .nick("Use buffer pool")
                    .blurb(
                        "Reuse packet buffers and their header memory through the lock-free \
                         pool (counted in stats: pool-hits, pool-misses)",
                    )
                    .default_value(true)
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn signals() -> &'static [glib::subclass::Signal] {
        static SIGNALS: LazyLock<Vec<glib::subclass::Signal>> = LazyLock::new(|| {
            crate::base::extensions::signals::<RtpBasePay2, _>(
                |obj: &super::RtpBasePay2| &obj.imp().extensions,
                true,
            )
        });
        SIGNALS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = lock(&self.settings);
        match pspec.name() {
            "mtu" => settings.mtu = value.get().unwrap_or(DEFAULT_MTU),
            "pt" => {
                settings.pt = value.get().unwrap_or(DEFAULT_PT);
                lock(&self.state).pt = settings.pt as u8;
            }
            "ssrc" => settings.ssrc = value.get().unwrap_or(RANDOM_U32),
            "timestamp-offset" => settings.timestamp_offset = value.get().unwrap_or(RANDOM_U32),
            "seqnum-offset" => settings.seqnum_offset = value.get().unwrap_or(-1),
            "source-info" => settings.source_info = value.get().unwrap_or(false),
            "scale-rtptime" => settings.scale_rtptime = value.get().unwrap_or(true),
            "perfect-rtptime" => settings.perfect_rtptime = value.get().unwrap_or(true),
            "auto-header-extension" => settings.auto_header_extension = value.get().unwrap_or(true),
            "buffer-list" => settings.buffer_list = value.get().unwrap_or(true),
            "use-buffer-pool" => settings.use_buffer_pool = value.get().unwrap_or(true),
            "min-ptime" => settings.min_ptime = value.get().unwrap_or(0),
            "max-ptime" => settings.max_ptime = value.get().unwrap_or(-1),
            "ptime-multiple" => settings.ptime_multiple = value.get().unwrap_or(0),
            "onvif-no-rate-control" => {
                settings.onvif_no_rate_control = value.get().unwrap_or(false)
            }
            other => gst::warning!(crate::CAT, imp = self, "No writable property {other}"),
        }
        // The streaming thread reads the settings from the state (one lock per packet).
        lock(&self.state).input_settings = *settings;
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = lock(&self.settings);
        match pspec.name() {
            "mtu" => settings.mtu.to_value(),
            "pt" => settings.pt.to_value(),
            "ssrc" => settings.ssrc.to_value(),
            "timestamp-offset" => settings.timestamp_offset.to_value(),
            "seqnum-offset" => settings.seqnum_offset.to_value(),
            "seqnum" => u32::from(lock(&self.state).last_seqnum).to_value(),
            "timestamp" => lock(&self.state).last_timestamp.to_value(),
            "stats" => {
                drop(settings);
                self.stats().to_value()
            }
            "source-info" => settings.source_info.to_value(),
            "scale-rtptime" => settings.scale_rtptime.to_value(),
            "perfect-rtptime" => settings.perfect_rtptime.to_value(),
            "auto-header-extension" => settings.auto_header_extension.to_value(),
            "extensions" => lock(&self.extensions).to_value_array().to_value(),
            "buffer-list" => settings.buffer_list.to_value(),
            "use-buffer-pool" => settings.use_buffer_pool.to_value(),
            "min-ptime" => settings.min_ptime.to_value(),
            "max-ptime" => settings.max_ptime.to_value(),
            "ptime-multiple" => settings.ptime_multiple.to_value(),
            "onvif-no-rate-control" => settings.onvif_no_rate_control.to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        if let Err(err) = obj.add_pad(&self.sink_pad).and(obj.add_pad(&self.src_pad)) {
            gst::error!(crate::CAT, imp = self, "Cannot add pads: {err}");
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
        }
        Ok(res)
    }
}
