// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! GObject implementation of `RtpBaseAudioPay2`.

use std::sync::Mutex;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::audio::{AudioFraming, PtimeSettings, next_packet_len, payload_limits};

use crate::base::extensions::lock;
use crate::base::pay::{
    InputId, InputParams, InputRange, OutgoingPacket, PacketPayload, PacketTiming, RtpBasePay2,
    RtpBasePay2Ext, RtpBasePay2Impl,
};

/// Default packet time when nothing else decides it (RFC 3551 §4.5).
const DEFAULT_PTIME_NS: u64 = 20_000_000;
/// For byte-oriented codecs, an input timestamp further than this from where the samples so
/// far end is a jump: the RTP timeline is resynchronised instead of stretching the perfect
/// timestamps. Smaller deviations are taken as timestamp jitter of the input.
const BYTES_RESYNC_TOLERANCE: gst::ClockTime = gst::ClockTime::from_mseconds(40);

/// How far the input may deviate before it counts as a jump: half a frame for frame codecs
/// (a missing frame, e.g. discontinuous transmission, must show in the RTP timestamps).
fn resync_tolerance(framing: &AudioFraming) -> gst::ClockTime {
    match framing {
        AudioFraming::Frames {
            frame_duration_ns, ..
        } => gst::ClockTime::from_nseconds(frame_duration_ns / 2),
        AudioFraming::Bytes { .. } => BYTES_RESYNC_TOLERANCE,
        // A framing added to the core later: the tolerance of byte codecs.
        _ => BYTES_RESYNC_TOLERANCE,
    }
}

/// Class structure: no virtual methods beyond the payloader base class's.
#[repr(C)]
pub struct Class {
    parent: crate::base::pay::Class,
}

// SAFETY: `#[repr(C)]` with the parent class structure as first field.
unsafe impl ClassStruct for Class {
    type Type = RtpBaseAudioPay2;
}

#[derive(Default)]
struct State {
    framing: Option<AudioFraming>,
    /// Audio waiting for a packet; made on first use (an input that is exactly one packet
    /// never needs it, and a `GstAdapter` costs about 4 KiB per instance).
    adapter: Option<gst_base::UniqueAdapter>,
    /// The inputs of the bytes in the adapter, in order: (input id, bytes still buffered).
    /// A packet names the inputs its bytes come from.
    buffered_inputs: std::collections::VecDeque<(InputId, usize)>,
    /// RTP ticks of the audio already packetized since the last resynchronisation.
    ticks: u64,
    /// Where the buffered samples end in time, to spot input timestamp jumps.
    expected_pts: Option<gst::ClockTime>,
    /// The next packet starts a new talkspurt / timeline (marker bit, re-anchored RTP time).
    resync: bool,
    /// The next packet holds the first data of a DISCONT input buffer (DISCONT flag, as the
    /// C audio payloaders set it).
    discont: bool,
    /// `ptime` and `maxptime` of the output caps of this caps generation (see
    /// [`crate::base::pay::InputParams::caps_generation`]).
    caps_ptimes: Option<(u64, CapsPtimes)>,
}

impl State {
    /// Bytes of audio waiting for a packet.
    fn buffered(&self) -> usize {
        self.adapter.as_ref().map_or(0, |a| a.available())
    }

    /// The inputs of the next `len` buffered bytes, which leave the adapter.
    fn take_inputs(&mut self, len: usize) -> Option<InputRange> {
        let first = self.buffered_inputs.front()?.0;
        let mut last = first;
        let mut left = len;
        while left > 0 {
            let Some((id, bytes)) = self.buffered_inputs.front_mut() else {
                break;
            };
            last = *id;
            let taken = left.min(*bytes);
            *bytes -= taken;
            left -= taken;
            if *bytes == 0 {
                self.buffered_inputs.pop_front();
            }
        }
        Some(InputRange::new(first, last))
    }
}

/// `ptime` and `maxptime` of the output caps, in nanoseconds.
type CapsPtimes = (Option<u64>, Option<u64>);

#[derive(Default)]
pub struct RtpBaseAudioPay2 {
    state: Mutex<State>,
}

impl RtpBaseAudioPay2 {
    pub(super) fn set_framing(&self, framing: AudioFraming) {
        lock(&self.state).framing = Some(framing);
    }

    /// `ptime` and `maxptime` of the negotiated downstream caps, parsed once per caps.
    fn caps_ptimes(base: &RtpBasePay2, state: &mut State, generation: u64) -> CapsPtimes {
        if let Some((cached, ptimes)) = state.caps_ptimes
            && cached == generation
        {
            return ptimes;
        }
        let Some(caps) = base.src_caps() else {
            return (None, None);
        };
        let ms = |name: &str| {
            let s = caps.structure(0)?;
            let ms = s
                .get::<u32>(name)
                .ok()
                .or_else(|| s.get::<i32>(name).ok().and_then(|v| u32::try_from(v).ok()))
                .or_else(|| s.get::<&str>(name).ok().and_then(|v| v.trim().parse().ok()))?;
            (ms > 0).then_some(u64::from(ms) * 1_000_000)
        };
        let ptimes = (
            ms("ptime").or_else(|| ms("a-ptime")),
            ms("maxptime").or_else(|| ms("a-maxptime")),
        );
        state.caps_ptimes = Some((generation, ptimes));
        ptimes
    }

    /// Packet-time settings from the properties, downstream caps and the MTU.
    fn ptime_settings(
        &self,
        base: &RtpBasePay2,
        params: &InputParams,
        state: &mut State,
    ) -> PtimeSettings {
        let (caps_ptime_ns, caps_maxptime_ns) =
            Self::caps_ptimes(base, state, params.caps_generation);
        PtimeSettings {
            min_ptime_ns: u64::try_from(params.min_ptime).unwrap_or(0),
            max_ptime_ns: u64::try_from(params.max_ptime).ok(),
            ptime_multiple_ns: u64::try_from(params.ptime_multiple).unwrap_or(0),
            caps_ptime_ns,
            caps_maxptime_ns,
            default_ptime_ns: DEFAULT_PTIME_NS,
            max_payload_bytes: params.max_payload_size,
        }
    }

    pub(super) fn push_audio(
        &self,
        buffer: &gst::Buffer,
        end_packet_after: bool,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let obj = self.obj();
        let base = obj.upcast_ref::<RtpBasePay2>();
        let params = base.input_params();
        let mut state = lock(&self.state);
        let Some(framing) = state.framing else {
            drop(state);
            gst::element_imp_error!(self, gst::CoreError::Negotiation, ["No audio framing set"]);
            return Err(gst::FlowError::NotNegotiated);
        };
        let ptime = self.ptime_settings(base, &params, &mut state);
        let limits = payload_limits(&framing, &ptime);
        let perfect = params.perfect_rtptime;

        let jumped = match (buffer.pts(), state.expected_pts) {
            (Some(pts), Some(expected)) => pts.absdiff(expected) > resync_tolerance(&framing),
            _ => false,
        };
        let discont = buffer.flags().contains(gst::BufferFlags::DISCONT);
        if discont || jumped {
            // What is buffered belongs to the old timeline: send it first.
            Self::make_packets(base, &mut state, &framing, &limits, true, perfect);
            state.resync = true;
        }
        state.discont |= discont;
        let size = buffer.size();
        let duration = framing.duration_ns(size);
        state.expected_pts = buffer
            .pts()
            .map(|pts| pts + gst::ClockTime::from_nseconds(duration));
        // The usual case, an input buffer that is exactly one packet with nothing buffered,
        // skips the adapter: the same packet as the adapter would give, without its work.
        let whole_packet = state.buffered() == 0
            && size > 0
            && (next_packet_len(&limits, &framing, size, false) == Some(size)
                || (end_packet_after && size <= limits.max_bytes));
        if whole_packet {
            // (No input range: the packet is made from the input being handled.)
            Self::queue_audio_packet(
                base,
                &mut state,
                &framing,
                buffer.clone(),
                (buffer.pts(), None),
                perfect,
            );
            return Ok(gst::FlowSuccess::Ok);
        }
        state
            .adapter
            .get_or_insert_with(gst_base::UniqueAdapter::new)
            .push(buffer.clone());
        state
            .buffered_inputs
            .push_back((base.current_input_id(), size));
        Self::make_packets(
            base,
            &mut state,
            &framing,
            &limits,
            end_packet_after,
            perfect,
        );
        Ok(gst::FlowSuccess::Ok)
    }

    /// Queues one packet of `payload` (whole frames) starting at `pts`, made from `inputs`.
    /// (Called with the state lock held: queueing only takes the packet's sequence number;
    /// header extensions write when the base class pushes, without lock.)
    fn queue_audio_packet(
        base: &RtpBasePay2,
        state: &mut State,
        framing: &AudioFraming,
        payload: gst::Buffer,
        (pts, inputs): (Option<gst::ClockTime>, Option<InputRange>),
        perfect: bool,
    ) {
        if state.resync {
            state.ticks = 0;
        }
        let len = payload.size();
        // Without timestamps (a raw file from `filesrc`, BYTES segment), the byte count is the
        // only clock: RTP time advances by the samples sent, as with the C payloaders.
        let timing = if perfect || pts.is_none() {
            PacketTiming::Continuous {
                pts,
                ticks: state.ticks,
            }
        } else {
            PacketTiming::Pts(pts)
        };
        let packet = OutgoingPacket {
            prefix: Default::default(),
            payload: PacketPayload::Buffer(payload),
            marker: std::mem::take(&mut state.resync),
            timing,
            duration: Some(gst::ClockTime::from_nseconds(framing.duration_ns(len))),
            inputs,
            discont: std::mem::take(&mut state.discont),
            delta_unit: false,
        };
        state.ticks += framing.ticks(len);
        base.queue_packet(packet);
    }

    /// Queues packets while enough audio is buffered, or, when `flush_all`, everything
    /// buffered: in packets of at most `max_bytes` whole frames, the last one taking the rest
    /// (so a trailing G.729 SID frame stays the last frame of the last packet).
    fn make_packets(
        base: &RtpBasePay2,
        state: &mut State,
        framing: &AudioFraming,
        limits: &rtp2_core::audio::PayloadLimits,
        flush_all: bool,
        perfect: bool,
    ) {
        let align = framing.align().max(1);
        while let Some(adapter) = state.adapter.as_mut() {
            let available = adapter.available();
            if available == 0 {
                break;
            }
            let len = if flush_all {
                if available > limits.max_bytes {
                    (limits.max_bytes / align * align).max(align).min(available)
                } else {
                    available
                }
            } else {
                match next_packet_len(limits, framing, available, false) {
                    Some(len) if len > 0 => len,
                    _ => break,
                }
            };
            let (prev_pts, distance) = adapter.prev_pts();
            let pts = prev_pts.map(|pts| {
                pts + gst::ClockTime::from_nseconds(framing.duration_ns(distance as usize))
            });
            let Ok(payload) = adapter.take_buffer_fast(len) else {
                break;
            };
            let inputs = state.take_inputs(len);
            Self::queue_audio_packet(base, state, framing, payload, (pts, inputs), perfect);
        }
    }
}

#[glib::object_subclass]
impl ObjectSubclass for RtpBaseAudioPay2 {
    const NAME: &'static str = "GstRtp2BaseAudioPay";
    const ABSTRACT: bool = true;
    type Type = super::RtpBaseAudioPay2;
    type ParentType = RtpBasePay2;
    type Class = Class;
}

/// `min-ptime`, `max-ptime` and `ptime-multiple` are properties of the payloader base class
/// (as in C, every payloader has them); this class is where they take effect.
impl ObjectImpl for RtpBaseAudioPay2 {}

impl GstObjectImpl for RtpBaseAudioPay2 {}
impl ElementImpl for RtpBaseAudioPay2 {}

impl RtpBasePay2Impl for RtpBaseAudioPay2 {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let mut state = lock(&self.state);
        let framing = state.framing;
        *state = State {
            framing,
            resync: true,
            ..State::default()
        };
        Ok(())
    }

    fn handle_buffer(&self, buffer: &gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.push_audio(buffer, false)
    }

    fn drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        let obj = self.obj();
        let base = obj.upcast_ref::<RtpBasePay2>();
        let params = base.input_params();
        let mut state = lock(&self.state);
        if let Some(framing) = state.framing {
            let ptime = self.ptime_settings(base, &params, &mut state);
            let limits = payload_limits(&framing, &ptime);
            Self::make_packets(
                base,
                &mut state,
                &framing,
                &limits,
                true,
                params.perfect_rtptime,
            );
        }
        Ok(gst::FlowSuccess::Ok)
    }

    fn flush(&self) {
        let mut state = lock(&self.state);
        if let Some(adapter) = state.adapter.as_mut() {
            adapter.clear();
        }
        state.buffered_inputs.clear();
        state.expected_pts = None;
        state.resync = true;
    }
}
