// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The payloading logic of `rtph264pay2` and `rtph265pay2`: splits input into NAL units,
//! keeps parameter sets for SDP and re-insertion (`config-interval`, force-key-unit with
//! all-headers), and builds packets from the core packetizer's plans with memory shared
//! with the input (RFC 6184 §5.6–5.8, RFC 7798 §4.4).

use rtp2_core::nal::{annexb_nal_ranges_with_header, length_prefixed_nal_units};
use rtp2_core::nalpack::{
    AggregateMode, Chunk, NalFormat, NalPacketizer, NalRef, PacketPlan, PacketizationMode,
    PacketizeError, PacketizerConfig,
};

use super::pay_flags::{InputInfo, NalFlags};
use super::{NalCodec, ParamSets};
use crate::base::pay::{
    InputId, InputRange, OutgoingPacket, PacketPayload, PayloadPrefix, RtpBasePay2, RtpBasePay2Ext,
};
use crate::memshare::share_range;
use smallvec::SmallVec;

/// Element settings the payloading logic reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaySettings {
    /// `config-interval`: 0 off, -1 before every keyframe, N seconds.
    pub config_interval: i32,
    /// `aggregate-mode`.
    pub aggregate: AggregateMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputFormat {
    /// Annex B start codes.
    ByteStream,
    /// NAL units after lengths of this many bytes (avc, avc3, hvc1, hev1).
    LengthPrefixed(usize),
}

/// A NAL unit the packetizer may still refer to: where it lies in the buffer it came from
/// (a reference to that buffer, no sub-buffer), the input it belongs to (a parameter set
/// inserted before a keyframe belongs to the keyframe's input), and the flags of the first
/// packet that starts with it.
#[derive(Debug)]
struct PendingNal {
    id: usize,
    input: InputId,
    source: gst::Buffer,
    offset: usize,
    pts: Option<gst::ClockTime>,
    flags: NalFlags,
}

/// Payloader state; the element keeps it behind its lock.
#[derive(Debug)]
pub struct NalPayState<C: NalCodec> {
    format: InputFormat,
    au_aligned: bool,
    packetizer: NalPacketizer<C::Format>,
    nals: Vec<PendingNal>,
    next_id: usize,
    sets: ParamSets,
    params_changed: bool,
    last_config_pts: Option<gst::ClockTime>,
    force_headers: bool,
    /// Kinds of parameter sets seen in the current access unit (bit mask).
    au_sets: u8,
    /// PTS and DTS of the last input buffer: a change starts an access unit (nal alignment).
    last_timing: (Option<gst::ClockTime>, Option<gst::ClockTime>),
    /// Why input was dropped while the state was locked: reported once it is released.
    dropped: Vec<String>,
    /// New RTP caps to set and an error to post, once the state lock is released (lock rule:
    /// no caps event, signal or message under an element lock).
    pub(super) new_caps: Option<gst::Caps>,
    pub(super) error: Option<String>,
    /// Fields the element sets on every RTP caps (e.g. packetization-mode).
    pub caps_fields: Option<gst::Structure>,
}

impl<C: NalCodec> Default for NalPayState<C> {
    fn default() -> Self {
        NalPayState {
            format: InputFormat::ByteStream,
            au_aligned: true,
            packetizer: NalPacketizer::new(PacketizerConfig {
                max_payload: 1388,
                mode: PacketizationMode::NonInterleaved,
                aggregate: AggregateMode::None,
            }),
            nals: Vec::new(),
            next_id: 0,
            sets: ParamSets::new(C::PARAM_SET_KINDS),
            params_changed: false,
            last_config_pts: None,
            force_headers: false,
            au_sets: 0,
            last_timing: (None, None),
            dropped: Vec::new(),
            new_caps: None,
            error: None,
            caps_fields: None,
        }
    }
}

impl<C: NalCodec> NalPayState<C> {
    /// The RTP caps: the SDP parameters once parameter sets are known, and the element's
    /// own fields.
    pub fn src_caps(&self) -> gst::Caps {
        let mut caps = gst::Caps::builder("application/x-rtp")
            .field("media", "video")
            .field("clock-rate", 90000i32)
            .field("encoding-name", C::ENCODING_NAME)
            .build();
        if let Some(s) = caps.make_mut().structure_mut(0) {
            C::set_sdp_fields(&self.sets, s);
            if let Some(fields) = &self.caps_fields {
                for (name, value) in fields.iter() {
                    s.set_value(name, value.clone());
                }
            }
        }
        caps
    }

    /// New sink caps: input format, alignment and parameter sets from `codec_data`.
    pub fn set_sink_caps(&mut self, obj: &RtpBasePay2, caps: &gst::Caps) -> bool {
        let Some(s) = caps.structure(0) else {
            return false;
        };
        self.au_aligned = !matches!(s.get::<&str>("alignment"), Ok("nal"));
        let stream_format = s.get::<&str>("stream-format").unwrap_or("byte-stream");
        self.format = if C::LENGTH_PREFIXED.contains(&stream_format) {
            let mut length_size = 4;
            if let Ok(codec_data) = s.get::<gst::Buffer>("codec_data") {
                let Ok(map) = codec_data.map_readable() else {
                    return false;
                };
                match C::parse_codec_data(&map) {
                    Ok((size, sets)) => {
                        length_size = size;
                        for set in sets {
                            self.sets.cache::<C>(&set);
                        }
                    }
                    Err(err) => {
                        gst::warning!(crate::CAT, obj = obj, "{err}");
                        return false;
                    }
                }
            }
            InputFormat::LengthPrefixed(length_size)
        } else {
            InputFormat::ByteStream
        };
        true
    }

    /// Applies the MTU, packetization mode and aggregation; what is held goes out first.
    pub fn configure(&mut self, obj: &RtpBasePay2, mode: PacketizationMode, settings: PaySettings) {
        let config = PacketizerConfig {
            max_payload: obj.max_payload_size(),
            mode,
            aggregate: settings.aggregate,
        };
        if self.packetizer.config() != config {
            let mut plans = Vec::new();
            self.packetizer.set_config(config, &mut plans);
            if !plans.is_empty() {
                self.queue_plans(obj, plans);
            }
        }
    }

    /// The packetization mode in use.
    pub fn mode(&self) -> PacketizationMode {
        self.packetizer.config().mode
    }

    /// Makes the next keyframe carry the parameter sets (force-key-unit with all-headers;
    /// the element records the event without taking its state lock and calls this before
    /// the next buffer).
    pub fn force_headers(&mut self) {
        self.force_headers = true;
    }

    /// Whether parameter sets must go before the keyframe at `pts`.
    fn wants_config(&self, settings: PaySettings, pts: Option<gst::ClockTime>) -> bool {
        if self.force_headers {
            return true;
        }
        match settings.config_interval {
            0 => false,
            -1 => true,
            seconds => match (self.last_config_pts, pts) {
                (Some(last), Some(now)) => {
                    now.saturating_sub(last) >= gst::ClockTime::from_seconds(seconds as u64)
                }
                _ => true,
            },
        }
    }

    /// Hands one NAL unit (bytes `range` of `source`) to the packetizer and queues the
    /// packets that are complete.
    #[allow(clippy::too_many_arguments)]
    fn push_nal(
        &mut self,
        obj: &RtpBasePay2,
        source: &gst::Buffer,
        range: std::ops::Range<usize>,
        header: [u8; 2],
        input: &mut InputInfo,
        end_of_au: bool,
        input_id: InputId,
    ) -> Result<(), gst::FlowError> {
        let id = self.next_id;
        self.next_id += 1;
        let nal_ref = NalRef {
            id,
            header,
            len: range.len(),
        };
        let flags = input.next_flags::<C>();
        let mut plans = Vec::new();
        if flags.discont && self.packetizer.has_pending() {
            // A discontinuity starts a new access unit: what is held ended the previous one.
            self.packetizer.flush(true, &mut plans);
        }
        self.nals.push(PendingNal {
            id,
            input: input_id,
            source: source.clone(),
            offset: range.start,
            pts: input.pts,
            flags,
        });
        if let Err(err) = self.packetizer.push(nal_ref, end_of_au, &mut plans) {
            self.queue_plans(obj, plans);
            self.error = Some(err.to_string());
            return Err(gst::FlowError::Error);
        }
        self.queue_plans(obj, plans);
        Ok(())
    }

    /// Builds and queues the packets of `plans`, then forgets NAL units no longer needed.
    /// Each packet names the inputs of its NAL units (header extensions are written from the
    /// first: also for units drained at EOS or at a configuration change).
    fn queue_plans(&mut self, obj: &RtpBasePay2, plans: Vec<PacketPlan>) {
        for plan in plans {
            let mut payload = SmallVec::<[gst::Memory; 4]>::new();
            let mut prefix = PayloadPrefix::default();
            let mut last_input = None;
            for (i, chunk) in plan.chunks.iter().enumerate() {
                match chunk {
                    // Leading header bytes go into the RTP header memory.
                    Chunk::Bytes(bytes) if i == 0 => prefix = PayloadPrefix::from(*bytes),
                    Chunk::Bytes(bytes) => {
                        payload.push(gst::Memory::from_slice(bytes.as_slice().to_vec()));
                    }
                    Chunk::Nal { id, range } => {
                        let Some(nal) = self.nals.iter().find(|n| n.id == *id) else {
                            continue;
                        };
                        last_input = last_input.max(Some(nal.input));
                        let at = (nal.offset + range.start)..(nal.offset + range.end);
                        share_range(&nal.source, at, &mut payload);
                    }
                    // A chunk kind the core adds later has no bytes for this payloader.
                    _ => {}
                }
            }
            let (pts, flags, first_input) = self
                .nals
                .iter_mut()
                .find(|n| n.id == plan.first_nal)
                .map(|n| {
                    let flags = n.flags;
                    // Later fragments of the unit: no DISCONT; H.264 also sets DELTA_UNIT.
                    n.flags.discont = false;
                    n.flags.delta_unit |= C::KEY_FLAG_ON_FIRST_PACKET_ONLY;
                    (n.pts, flags, Some(n.input))
                })
                .unwrap_or_default();
            let mut packet = OutgoingPacket::with_payload(PacketPayload::Memories(payload), pts);
            packet.prefix = prefix;
            packet.marker = plan.marker;
            packet.inputs =
                first_input.map(|first| InputRange::new(first, last_input.unwrap_or(first)));
            packet.discont = flags.discont;
            packet.delta_unit = flags.delta_unit;
            obj.queue_packet(packet);
        }
        let keep: Vec<usize> = self.packetizer.pending_ids().collect();
        self.nals.retain(|n| keep.contains(&n.id));
    }

    /// Parameter sets in front of a keyframe that lacks them, when settings ask for it.
    fn insert_config(
        &mut self,
        obj: &RtpBasePay2,
        settings: PaySettings,
        input: &mut InputInfo,
        input_id: InputId,
    ) -> Result<(), gst::FlowError> {
        let pts = input.pts;
        let all = self.sets.all_kinds_mask();
        if self.au_sets != all && self.wants_config(settings, pts) {
            let sets: Vec<Vec<u8>> = self.sets.all().cloned().collect();
            gst::debug!(
                crate::CAT,
                obj = obj,
                "Inserting {} parameter sets",
                sets.len()
            );
            for set in sets {
                let header = NalRef::new(0, &set).header;
                let len = set.len();
                let source = gst::Buffer::from_mut_slice(set);
                self.push_nal(obj, &source, 0..len, header, input, false, input_id)?;
            }
            self.au_sets = all;
        }
        if self.au_sets == all {
            self.last_config_pts = pts;
            self.force_headers = false;
        }
        Ok(())
    }

    /// Payloads one input buffer; new RTP caps go out when the parameter sets change. A NAL
    /// unit that cannot be sent (shorter than its header, a type reserved for packet
    /// structures, a length past the end of the buffer) is dropped and noted in `dropped`.
    pub fn handle_buffer(
        &mut self,
        obj: &RtpBasePay2,
        settings: PaySettings,
        buffer: &gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
        let header_len = <C::Format as NalFormat>::NAL_HEADER_LEN;
        let mut ranges = match self.format {
            InputFormat::ByteStream => annexb_nal_ranges_with_header(&map, header_len),
            InputFormat::LengthPrefixed(size) => {
                let units = length_prefixed_nal_units(&map, size);
                if let Some(err) = units.error {
                    // The complete units before the broken one still go out.
                    self.dropped.push(format!(
                        "malformed length-prefixed buffer, dropping its end: {err}"
                    ));
                }
                units.ranges
            }
        };
        let mut input = InputInfo::of(buffer);
        let input_id = obj.current_input_id();
        let pts = input.pts;
        let au_ends_here = self.au_aligned || buffer.flags().contains(gst::BufferFlags::MARKER);
        let timing = (pts, buffer.dts());
        if !self.au_aligned && self.last_timing != timing && self.packetizer.has_pending() {
            // A new timestamp starts a new access unit: what is held ended the previous one.
            let mut plans = Vec::new();
            self.packetizer.flush(true, &mut plans);
            self.queue_plans(obj, plans);
        }
        self.last_timing = timing;

        ranges.retain(|range| {
            let checked = NalPacketizer::<C::Format>::check(&NalRef::new(0, &map[range.clone()]));
            if let Err(err) = checked {
                self.dropped.push(drop_reason(err));
            }
            checked.is_ok()
        });
        let count = ranges.len();
        for (i, range) in ranges.into_iter().enumerate() {
            let nal = &map[range.clone()];
            let header = NalRef::new(0, nal).header;
            let kind = C::nal_type(header);
            let end_of_au = au_ends_here && i + 1 == count;
            if let Some(set_kind) = C::param_set_kind(kind) {
                self.au_sets |= ParamSets::kind_bit(set_kind);
                self.params_changed |= self.sets.cache::<C>(nal);
            } else if C::is_keyframe(kind) {
                self.insert_config(obj, settings, &mut input, input_id)?;
            }
            if self.params_changed {
                // Set once the state lock is released, before the packets of this buffer go.
                self.params_changed = false;
                self.new_caps = Some(self.src_caps());
            }
            self.push_nal(obj, buffer, range, header, &mut input, end_of_au, input_id)?;
            if end_of_au {
                self.au_sets = 0;
            }
        }
        let mut plans = Vec::new();
        self.packetizer.end_input(&mut plans);
        self.queue_plans(obj, plans);
        Ok(gst::FlowSuccess::Ok)
    }

    /// Takes the reasons of the drops since the last call (reported by the caller once the
    /// state lock is released).
    pub(super) fn take_dropped(&mut self) -> Vec<String> {
        std::mem::take(&mut self.dropped)
    }

    /// End of stream or segment: sends what is held for aggregation.
    pub fn drain(&mut self, obj: &RtpBasePay2) {
        let mut plans = Vec::new();
        self.packetizer.flush(true, &mut plans);
        self.queue_plans(obj, plans);
    }

    /// Flush: forgets what is held.
    pub fn flush(&mut self) {
        let config = self.packetizer.config();
        self.packetizer = NalPacketizer::new(config);
        self.nals.clear();
        self.last_timing = (None, None);
    }
}

/// The warning text of a NAL unit the packetizer refuses.
fn drop_reason(err: PacketizeError) -> String {
    format!("dropping NAL unit: {err}")
}

/// Whether a force-key-unit event (either direction) asks for all headers.
pub fn wants_all_headers(event: &gst::Event) -> bool {
    gst_video::DownstreamForceKeyUnitEvent::parse(event).is_ok_and(|f| f.all_headers)
        || gst_video::UpstreamForceKeyUnitEvent::parse(event).is_ok_and(|f| f.all_headers)
}

pub use super::pay_element::{NalPayElement, config_interval_property};
