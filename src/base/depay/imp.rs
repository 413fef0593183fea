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
use crate::base::rtp_in::{RtpIn, Verdict, parse_batch, report_bad_input};

type FlowResult = Result<gst::FlowSuccess, gst::FlowError>;

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

impl std::ops::Deref for Class {
    type Target = glib::Class<gst::Element>;
    fn deref(&self) -> &Self::Target {
        // SAFETY: `parent` is the first field of this `#[repr(C)]` struct and
        // `glib::Class<gst::Element>` is a transparent wrapper of `GstElementClass`.
        unsafe { &*(&self.parent as *const _ as *const glib::Class<gst::Element>) }
    }
}

const DEFAULT_MAX_REORDER: u32 = 100;
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

    pub(super) fn clock_rate(&self) -> Option<u32> {
        lock(&self.state).clock_rate
    }

    /// The virtual method table of this instance's (most derived) class.
    fn vfuncs(&self) -> &'static Class {
        let obj = self.obj();
        let class: &Class = obj.class().as_ref();
        // SAFETY: the class structure of a static GType is allocated once and never freed,
        // so it outlives the borrow of `obj`.
        unsafe { &*(class as *const Class) }
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

    pub(super) fn queue_output(
        &self,
        mut buffer: gst::Buffer,
        ext_timestamp: u64,
        packets: RangeInclusive<u64>,
    ) {
        let mut state = lock(&self.state);
        let decoration = Self::decoration(&mut state, ext_timestamp, &packets);
        if decoration.from_packets.is_empty() {
            // No meta to add: the buffer is queued under the same lock.
            Self::set_times_and_flags(buffer.make_mut(), &decoration);
            state.pending.push(buffer);
            return;
        }
        drop(state);
        self.decorate(&mut buffer, decoration);
        lock(&self.state).pending.push(buffer);
    }

    /// PTS, DISCONT and what the packets `packets` carried, for the next output.
    fn decoration(
        state: &mut State,
        ext_timestamp: u64,
        packets: &RangeInclusive<u64>,
    ) -> OutputDecoration {
        let pts = state.pts_for(ext_timestamp);
        let discont = std::mem::take(&mut state.discont_pending);
        state.stats.buffers_pushed += 1;
        OutputDecoration {
            pts,
            discont,
            from_packets: state.window.gather(packets),
        }
    }

    fn set_times_and_flags(out: &mut gst::BufferRef, decoration: &OutputDecoration) {
        out.set_pts(decoration.pts);
        if decoration.discont {
            out.set_flags(gst::BufferFlags::DISCONT);
        }
    }

    /// Applies `decoration` (metas included; called without the state lock).
    fn decorate(&self, buffer: &mut gst::Buffer, decoration: OutputDecoration) {
        let mut caps_update = false;
        {
            let out = buffer.make_mut();
            Self::set_times_and_flags(out, &decoration);
            let from = decoration.from_packets;
            copy_metas(&from.metas, out);
            if let Some((ssrc, csrcs)) = from.sources {
                gst_rtp::RTPSourceMeta::add(out, Some(ssrc), &csrcs);
            }
            if !from.extensions.is_empty() {
                // The extensions read from a snapshot, without lock.
                let extensions = lock(&self.extensions).clone();
                caps_update = extensions.read(self.obj().upcast_ref(), &from.extensions, out);
            }
            if let Some(latency) = crate::capture_time::latency_of(out) {
                lock(&self.state)
                    .stats
                    .capture_latency
                    .get_or_insert_with(Default::default)
                    .observe(latency);
            }
        }
        if caps_update {
            // Taken in a statement of its own: the guard is gone before set_src_caps locks
            // the state again (an `if let` on the lock would keep it for the whole block).
            let caps = lock(&self.state).src_caps.take();
            if let Some(caps) = caps {
                self.set_src_caps(&caps);
            }
        }
    }

    /// Outputs the packet's whole payload as the input buffer itself with the RTP header cut
    /// off: when the depayloader is the buffer's only holder (as behind `udpsrc` or a
    /// jitterbuffer) no buffer or memory is made. The buffer is queued once the subclass
    /// returns and the packet is unmapped, in the place of this call among the outputs.
    pub(super) fn queue_payload_output(
        &self,
        packet: &super::IncomingPacket,
        duration: Option<gst::ClockTime>,
        flags: gst::BufferFlags,
    ) {
        if packet.payload_output.borrow().is_some() {
            // Only one per packet can take the input buffer; another gets a sub-buffer.
            if let Some(mut buffer) = packet.payload_buffer() {
                {
                    let out = buffer.make_mut();
                    out.set_duration(duration);
                    out.set_flags(flags);
                }
                let seq = packet.ext_seqnum();
                self.queue_output(buffer, packet.ext_timestamp(), seq..=seq);
            }
            return;
        }
        let seq = packet.ext_seqnum();
        let mut state = lock(&self.state);
        let decoration = Self::decoration(&mut state, packet.ext_timestamp(), &(seq..=seq));
        *packet.payload_output.borrow_mut() = Some(PayloadOutput {
            index: state.pending.len(),
            range: packet.payload_range(),
            duration,
            flags,
            decoration,
            has_metas: packet.has_metas,
        });
    }

    /// Turns the unmapped input buffer into the payload output recorded for it.
    fn finish_payload_output(&self, mut buffer: gst::Buffer, output: PayloadOutput) {
        {
            let out = buffer.make_mut();
            if out.resize(output.range).is_err() {
                // Cannot happen for a range the parser found; counted and warned if it does.
                self.drop_payload(&"payload range outside the packet buffer");
                return;
            }
            // The input's metas, flags and times are the packet's, not the payload's (its
            // allowed metas come back from the packet's record).
            if output.has_metas {
                crate::memshare::clear_metadata(out);
            } else {
                // No meta to remove: the same without the walk over the (empty) meta list.
                out.unset_flags(gst::BufferFlags::all());
                out.set_pts(None);
                out.set_dts(None);
                out.set_offset(u64::MAX);
                out.set_offset_end(u64::MAX);
            }
            out.set_flags(output.flags);
            out.set_duration(output.duration);
        }
        self.decorate(&mut buffer, output.decoration);
        let mut state = lock(&self.state);
        let index = output.index.min(state.pending.len());
        state.pending.insert(index, buffer);
    }

    pub(super) fn mark_discont(&self) {
        lock(&self.state).discont_pending = true;
    }

    pub(super) fn drop_payload(&self, reason: &dyn std::fmt::Display) {
        self.bad_input(reason, |state| {
            state.stats.dropped_payload += 1;
            state.discont_pending = true;
            &mut state.rtp_in
        });
    }

    pub(super) fn request_keyframe(&self) {
        lock(&self.state).stats.keyframe_requests += 1;
        let event = gst_video::UpstreamForceKeyUnitEvent::builder()
            .all_headers(true)
            .build();
        gst::debug!(crate::CAT, imp = self, "Requesting a keyframe upstream");
        if !self.sink_pad.push_event(event) {
            gst::debug!(
                crate::CAT,
                imp = self,
                "Nobody upstream handled the keyframe request"
            );
        }
    }

    /// Counts bad input (`count` updates the state under its lock); see
    /// [`report_bad_input`].
    fn bad_input(
        &self,
        reason: &dyn std::fmt::Display,
        count: impl FnOnce(&mut State) -> &mut RtpIn,
    ) {
        report_bad_input(self.obj().upcast_ref(), &self.state, reason, count);
    }

    /// Validates one RTP packet and hands it to the subclass; the buffer may become an
    /// output (see [`Self::queue_payload_output`]).
    fn handle_buffer(&self, buffer: gst::Buffer) -> FlowResult {
        let payload_output = RefCell::new(None);
        let res = match buffer.map_readable() {
            Ok(map) => {
                let parsed = RtpPacket::parse(map.as_slice());
                self.handle_parsed(&buffer, parsed, &payload_output)
            }
            Err(_) => {
                self.unreadable();
                Ok(gst::FlowSuccess::Ok)
            }
        };
        if let Some(output) = payload_output.into_inner() {
            self.finish_payload_output(buffer, output);
        }
        res
    }

    fn unreadable(&self) {
        self.bad_input(&"unreadable buffer", |state| state.rtp_in.count_invalid());
    }

    /// Hands the packet `buffer` holds, parsed once (`parsed`), to the subclass after the
    /// input-side checks; an invalid one is counted and warned about.
    fn handle_parsed(
        &self,
        buffer: &gst::Buffer,
        parsed: Result<RtpPacket<'_>, rtp2_core::rtp::RtpParseError>,
        payload_output: &RefCell<Option<PayloadOutput>>,
    ) -> FlowResult {
        let rtp = match parsed {
            Ok(rtp) => rtp,
            Err(err) => {
                self.bad_input(&format_args!("invalid RTP packet: {err}"), |state| {
                    state.rtp_in.count_invalid()
                });
                return Ok(gst::FlowSuccess::Ok);
            }
        };

        let has_metas = buffer.iter_meta::<gst::Meta>().next().is_some();
        let metas = if has_metas {
            allowed_metas(buffer, self.vfuncs().allowed_meta_tags)
        } else {
            None
        };
        let mut flush_subclass = false;
        let (ext_seqnum, ext_timestamp, discont) = {
            let mut state = lock(&self.state);
            if state.clock_rate.is_none() {
                drop(state);
                gst::element_imp_error!(
                    self,
                    gst::CoreError::Negotiation,
                    ["No RTP caps with a clock-rate before the first packet"]
                );
                return Err(gst::FlowError::NotNegotiated);
            }
            state.input_times = (buffer.pts(), buffer.dts());
            let accepted = match state.rtp_in.check(self.obj().upcast_ref(), &rtp) {
                Verdict::Accept(accepted) => accepted,
                Verdict::Late => return Ok(gst::FlowSuccess::Ok),
            };
            if accepted.resync {
                state.forget_timing();
                flush_subclass = true;
            }
            if accepted.lost > 0 {
                state.discont_pending = true;
            }
            let ext_timestamp = accepted.ext_timestamp;
            if let Some(pts) = buffer.pts() {
                // Every packet's PTS re-anchors the RTP time: upstream (a jitterbuffer) is the
                // timing authority, and rtpbin's lip sync moves its PTS (`ts-offset`) by up
                // to hundreds of milliseconds at once; outputs follow, as the C
                // depayloaders' do (tests/timing_sync.rs).
                let jumped = state
                    .pts_for(ext_timestamp)
                    .is_some_and(|derived| derived.absdiff(pts) > PTS_JUMP);
                if jumped {
                    gst::debug!(crate::CAT, imp = self, "Input PTS jumped to {pts}");
                }
                state.anchor = Some((ext_timestamp, pts));
            }
            state.window.record(accepted.ext_seqnum, &rtp, metas);
            (accepted.ext_seqnum, ext_timestamp, accepted.discont)
        };
        if flush_subclass {
            (self.vfuncs().flush)(&self.obj());
        }
        if rtp.payload().is_empty() {
            // A valid packet without payload (RFC 3550 §5.1: padding only, as WebRTC senders
            // send to probe bandwidth) carries no media: counted, skipped without a warning
            // (as the C depayloaders do), and a loss before it is kept for the next packet.
            let mut state = lock(&self.state);
            state.stats.packets_without_payload += 1;
            state.rtp_in.carry_discont(discont);
            return Ok(gst::FlowSuccess::Ok);
        }

        let packet = IncomingPacket {
            rtp,
            buffer,
            ext_seqnum,
            ext_timestamp,
            discont,
            has_metas,
            payload_output,
        };
        (self.vfuncs().handle_packet)(&self.obj(), &packet)
    }

    fn push_pending(&self) -> FlowResult {
        let mut state = lock(&self.state);
        if state.pending.is_empty() {
            return Ok(gst::FlowSuccess::Ok);
        }
        if std::mem::take(&mut state.allocation_stale) {
            drop(state);
            self.query_allocation();
            state = lock(&self.state);
        }
        let allocator = state.allocator.clone();
        match state.pending.len() {
            1 => {
                let mut buffer = state.pending.pop().unwrap_or_default();
                drop(state);
                if let Some(allocator) = allocator {
                    buffer = allocator.copy_into(buffer);
                }
                self.src_pad.push(buffer)
            }
            n => {
                // The state keeps its vector (and capacity); the buffers move to the list.
                let mut list = gst::BufferList::new_sized(n);
                if let Some(list) = list.get_mut() {
                    for buffer in state.pending.drain(..) {
                        list.add(buffer);
                    }
                }
                drop(state);
                if let Some(allocator) = allocator {
                    allocator.copy_list(&mut list);
                }
                self.src_pad.push_list(list)
            }
        }
    }

    /// Asks downstream for an allocator for the current output caps (no lock held).
    fn query_allocation(&self) {
        let allocator = self
            .src_pad
            .current_caps()
            .and_then(|caps| ProposedAllocator::query(&self.src_pad, &caps));
        lock(&self.state).allocator = allocator;
    }

    fn sink_chain(&self, buffer: gst::Buffer) -> FlowResult {
        let res = self.handle_buffer(buffer);
        let pushed = self.push_pending();
        res.and(pushed)
    }

    /// A buffer list: every packet is mapped and parsed once ([`parse_batch`]: the fixed
    /// headers of all in one batch, SIMD where the CPU has it, then the rest of each), and
    /// handed to the subclass with its map. A packet that becomes an output itself (see
    /// [`Self::queue_payload_output`]) is finished once all maps are released, in its place
    /// among the outputs.
    fn sink_chain_list(&self, mut list: gst::BufferList) -> FlowResult {
        // The packets are taken out of the list (not shared with it), so that one the
        // depayloader alone holds can become its own output.
        let mut buffers: SmallVec<[Option<gst::Buffer>; 32]> =
            list.make_mut().drain(..).map(Some).collect();
        let mut res = Ok(gst::FlowSuccess::Ok);
        let mut payload_outputs: SmallVec<[(usize, PayloadOutput); 32]> = SmallVec::new();
        {
            let maps: SmallVec<[Option<gst::buffer::BufferMap<'_, gst::buffer::Readable>>; 32]> =
                buffers
                    .iter()
                    .map(|b| b.as_ref().and_then(|b| b.map_readable().ok()))
                    .collect();
            let slices: SmallVec<[&[u8]; 32]> = maps
                .iter()
                .map(|m| m.as_ref().map_or(&[][..], |m| m.as_slice()))
                .collect();
            let mut parsed = Vec::with_capacity(slices.len());
            parse_batch(&slices, &mut parsed);
            for (i, (packet, map)) in parsed.into_iter().zip(&maps).enumerate() {
                let Some(buffer) = buffers[i].as_ref().filter(|_| map.is_some()) else {
                    self.unreadable();
                    continue;
                };
                let payload_output = RefCell::new(None);
                res = self.handle_parsed(buffer, packet, &payload_output);
                if let Some(output) = payload_output.into_inner() {
                    payload_outputs.push((i, output));
                }
                if res.is_err() {
                    break;
                }
            }
        }
        // Each recorded its place among the outputs queued without the earlier ones.
        for (inserted, (i, mut output)) in payload_outputs.into_iter().enumerate() {
            if let Some(buffer) = buffers[i].take() {
                output.index += inserted;
                self.finish_payload_output(buffer, output);
            }
        }
        let pushed = self.push_pending();
        res.and(pushed)
    }

    fn drain_and_push(&self) -> FlowResult {
        let res = (self.vfuncs().drain)(&self.obj());
        let pushed = self.push_pending();
        res.and(pushed)
    }

    fn default_sink_event(&self, event: gst::Event) -> bool {
        use gst::EventView;
        match event.view() {
            EventView::Caps(c) => {
                let caps = c.caps_owned();
                let Some(s) = caps.structure(0) else {
                    return false;
                };
                let clock_rate = s
                    .get::<i32>("clock-rate")
                    .ok()
                    .and_then(|r| u32::try_from(r).ok())
                    .filter(|r| *r > 0);
                let Some(clock_rate) = clock_rate else {
                    gst::warning!(crate::CAT, imp = self, "No valid clock-rate in {caps}");
                    return false;
                };
                {
                    let mut state = lock(&self.state);
                    if state.clock_rate.is_some_and(|r| r != clock_rate) {
                        state.anchor = None;
                    }
                    state.clock_rate = Some(clock_rate);
                    state.play_range = PlayRange::from_caps(s);
                }
                let auto = lock(&self.settings).auto_header_extension;
                configure_from_caps(self.obj().upcast_ref(), &self.extensions, &caps, auto);
                (self.vfuncs().set_sink_caps)(&self.obj(), &caps)
            }
            EventView::Segment(s) => {
                let mut state = lock(&self.state);
                if let Some(segment) = s.segment().downcast_ref::<gst::ClockTime>() {
                    state.segment = segment.clone();
                }
                if self.src_pad.current_caps().is_none() {
                    // Caps must precede the segment downstream; wait for them.
                    state.pending_segment = Some(event);
                    return true;
                }
                drop(state);
                self.src_pad.push_event(event)
            }
            EventView::FlushStop(_) => {
                (self.vfuncs().flush)(&self.obj());
                {
                    let mut state = lock(&self.state);
                    state.pending.clear();
                    state.resync();
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

    fn stats(&self) -> gst::Structure {
        let state = lock(&self.state);
        let s = &state.stats;
        let input = &state.rtp_in;
        let builder = gst::Structure::builder("application/x-rtp-depayload-stats")
            .field("clock-rate", state.clock_rate.unwrap_or(0))
            .field("ssrc", input.ssrc().unwrap_or(0))
            .field("seqnum", u32::from(input.last_seqnum()))
            .field("timestamp", input.last_timestamp());
        let builder = input
            .stats
            .add_fields(builder)
            .field("packets-without-payload", s.packets_without_payload)
            .field("dropped-payload", s.dropped_payload)
            .field("buffers-pushed", s.buffers_pushed)
            .field("keyframe-requests", s.keyframe_requests);
        super::latency::add_fields(builder, s.capture_latency.as_deref())
            // The fields of the C base class's stats, under its names, for applications
            // that read them.
            .field("clock_rate", state.clock_rate.unwrap_or(0))
            .field("npt-start", state.play_range.npt_start)
            .field("npt-stop", state.play_range.npt_stop)
            .field("play-speed", state.play_range.play_speed)
            .field("play-scale", state.play_range.play_scale)
            .field(
                "running-time-pts",
                state
                    .segment
                    .to_running_time(state.input_times.0)
                    .map_or(u64::MAX, |t| t.nseconds()),
            )
            .field(
                "running-time-dts",
                state
                    .segment
                    .to_running_time(state.input_times.1)
                    .map_or(u64::MAX, |t| t.nseconds()),
            )
            .build()
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
        klass.set_sink_caps = |obj, caps| {
            gst::error!(
                crate::CAT,
                obj = obj,
                "{} does not handle caps {caps}",
                obj.type_().name()
            );
            false
        };
        klass.handle_packet = |obj, _| {
            gst::error!(
                crate::CAT,
                obj = obj,
                "{} has no handle_packet",
                obj.type_().name()
            );
            Err(gst::FlowError::NotSupported)
        };
        klass.drain = |_| Ok(gst::FlowSuccess::Ok);
        klass.flush = |_| {};
        klass.sink_event = |obj, event| obj.imp().default_sink_event(event);
        klass.src_event =
            |obj, event| gst::Pad::event_default(&obj.imp().src_pad, Some(obj), event);
        klass.allowed_meta_tags = &[];
    }

    fn with_class(klass: &Self::Class) -> Self {
        let sink_templ = klass
            .pad_template("sink")
            .unwrap_or_else(|| panic!("depayloader class has no 'sink' pad template"));
        let src_templ = klass
            .pad_template("src")
            .unwrap_or_else(|| panic!("depayloader class has no 'src' pad template"));
        let sink_pad = gst::Pad::builder_from_template(&sink_templ)
            .chain_function(|_pad, parent, buffer| {
                RtpBaseDepay2::catch_panic_pad_function(
                    parent,
                    || Err(gst::FlowError::Error),
                    |imp| imp.sink_chain(buffer),
                )
            })
            .chain_list_function(|_pad, parent, list| {
                RtpBaseDepay2::catch_panic_pad_function(
                    parent,
                    || Err(gst::FlowError::Error),
                    |imp| imp.sink_chain_list(list),
                )
            })
            .event_function(|_pad, parent, event| {
                RtpBaseDepay2::catch_panic_pad_function(
                    parent,
                    || false,
                    |imp| (imp.vfuncs().sink_event)(&imp.obj(), event),
                )
            })
            .build();
        let src_pad = gst::Pad::builder_from_template(&src_templ)
            .event_function(|_pad, parent, event| {
                RtpBaseDepay2::catch_panic_pad_function(
                    parent,
                    || false,
                    |imp| {
                        if event.type_() == gst::EventType::Reconfigure {
                            // Downstream changed: its allocator may have too.
                            lock(&imp.state).allocation_stale = true;
                        }
                        (imp.vfuncs().src_event)(&imp.obj(), event)
                    },
                )
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

impl ObjectImpl for RtpBaseDepay2 {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecInt::builder("max-reorder")
                    .nick("Max Reorder")
                    .blurb("Max seqnum reorder before assuming sender has restarted")
                    .minimum(0)
                    .default_value(DEFAULT_MAX_REORDER as i32)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("source-info")
                    .nick("RTP source information")
                    .blurb("Add RTP source information as buffer meta")
                    .default_value(false)
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
                glib::ParamSpecBoxed::builder::<gst::Structure>("stats")
                    .nick("Statistics")
                    .blurb("Various statistics")
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn signals() -> &'static [glib::subclass::Signal] {
        static SIGNALS: LazyLock<Vec<glib::subclass::Signal>> = LazyLock::new(|| {
            crate::base::extensions::signals::<RtpBaseDepay2, _>(
                |obj: &super::RtpBaseDepay2| &obj.imp().extensions,
                false,
            )
        });
        SIGNALS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = lock(&self.settings);
        match pspec.name() {
            "max-reorder" => {
                let max_reorder = value.get::<i32>().unwrap_or(DEFAULT_MAX_REORDER as i32);
                settings.max_reorder = u32::try_from(max_reorder).unwrap_or(0);
                lock(&self.state)
                    .rtp_in
                    .set_max_reorder(settings.max_reorder);
            }
            "source-info" => {
                settings.source_info = value.get().unwrap_or(false);
                lock(&self.state)
                    .window
                    .set_source_info(settings.source_info);
            }
            "auto-header-extension" => settings.auto_header_extension = value.get().unwrap_or(true),
            other => gst::warning!(crate::CAT, imp = self, "No writable property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "max-reorder" => (lock(&self.settings).max_reorder as i32).to_value(),
            "source-info" => lock(&self.settings).source_info.to_value(),
            "auto-header-extension" => lock(&self.settings).auto_header_extension.to_value(),
            "extensions" => lock(&self.extensions).to_value_array().to_value(),
            "stats" => self.stats().to_value(),
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
