// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The depayloading logic of `rtph264depay2` and `rtph265depay2`: feeds packets to the core
//! depacketizer, assembles access units (marker bit or timestamp change), inserts parameter
//! sets before keyframes that lack them, and outputs byte-stream or length-prefixed NAL units
//! (with `codec_data`), aligned on access units or NAL units.

use std::ops::RangeInclusive;

use rtp2_core::naldepack::{Depacketize, DropReason, NalData, OutputNal};
use rtp2_core::nalpack::NalFormat;

use super::{NalCodec, ParamSets, first_string};
use crate::base::depay::{IncomingPacket, KeyframePolicy, RtpBaseDepay2, RtpBaseDepay2Ext};

mod au;
use au::AuNal;

/// Most NAL units an access unit may gather before it is output anyway: a sender that never
/// sets the marker bit nor changes the timestamp cannot make the depayloader grow forever.
pub const MAX_AU_NALS: usize = 2048;
/// Most bytes an access unit may gather before it is output anyway.
pub const MAX_AU_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutputFormat {
    ByteStream,
    /// Length-prefixed, with this `stream-format` name.
    LengthPrefixed(&'static str),
}

/// What the depayloader does once its state lock is released: the base class pushes
/// events, posts messages and calls header extensions in these, so none runs under the lock
/// (compute under the lock, act after it).
#[derive(Debug)]
pub(super) enum Action {
    SetCaps(gst::Caps),
    Push {
        buffer: gst::Buffer,
        timestamp: u64,
        packets: RangeInclusive<u64>,
    },
    /// A payload dropped as bad input (counted, warned, next output DISCONT).
    Drop(DropReason),
    /// Data lost to packet loss: the next output is DISCONT (no warning).
    Discont,
    /// An element warning.
    Warn(String),
    RequestKeyframe,
}

/// The actions of one call (most packets make none; an access unit one).
pub(super) type Actions = smallvec::SmallVec<[Action; 2]>;

/// Runs `actions` in order; false when new output caps were refused.
#[inline]
pub(super) fn run(obj: &RtpBaseDepay2, actions: Actions) -> bool {
    actions.is_empty() || run_actions(obj, actions)
}

fn run_actions(obj: &RtpBaseDepay2, actions: Actions) -> bool {
    let mut ok = true;
    for action in actions {
        match action {
            Action::SetCaps(caps) => ok &= obj.set_src_caps(&caps),
            Action::Push {
                buffer,
                timestamp,
                packets,
            } => obj.push_output(buffer, timestamp, packets),
            Action::Drop(reason) => obj.drop_packet(&reason),
            Action::Discont => obj.mark_discont(),
            Action::Warn(text) => {
                gst::element_warning!(obj, gst::StreamError::Demux, ["{text}"]);
            }
            Action::RequestKeyframe => obj.request_keyframe(),
        }
    }
    ok
}

/// Depayloader state; the element keeps it behind its lock.
#[derive(Debug)]
pub struct NalDepayState<C: NalCodec> {
    depacketizer: Option<C::Depacketizer>,
    format: OutputFormat,
    au_aligned: bool,
    sets: ParamSets,
    /// The caps (codec_data) must be (re)sent.
    caps_dirty: bool,
    au: Vec<AuNal>,
    au_bytes: usize,
    au_timestamp: Option<u64>,
    /// The last NAL unit taken into `au` ends a packet with the marker bit.
    au_marker: bool,
    /// An access unit of non-VCL NAL units only (parameter sets, SEI, AUD sent with their
    /// own timestamp): it goes in front of the next access unit instead of alone.
    leading: Vec<AuNal>,
    /// Timestamp of `leading` (used only if no picture follows before the end).
    leading_timestamp: Option<u64>,
    /// `request-keyframe` / `wait-for-keyframe` and the wait in progress.
    pub policy: KeyframePolicy,
    /// First packet pushed into the depacketizer since the last one that brought NAL units
    /// out: NAL units coming out were made from packets from here to the current one (a
    /// fragmented unit's FU packets; exact for single, aggregation and FU packets, a bound
    /// for the decoding-order buffer).
    unemitted_since: Option<u64>,
    /// The last packet handled (NAL units drained at the end come from up to it).
    last_packet: Option<u64>,
}

impl<C: NalCodec> Default for NalDepayState<C> {
    fn default() -> Self {
        NalDepayState {
            depacketizer: None,
            format: OutputFormat::ByteStream,
            au_aligned: true,
            sets: ParamSets::new(C::PARAM_SET_KINDS),
            caps_dirty: true,
            au: Vec::new(),
            au_bytes: 0,
            au_timestamp: None,
            au_marker: false,
            leading: Vec::new(),
            leading_timestamp: None,
            policy: KeyframePolicy::default(),
            unemitted_since: None,
            last_packet: None,
        }
    }
}

impl<C: NalCodec> NalDepayState<C> {
    fn output_caps(&self) -> Option<gst::Caps> {
        let (stream_format, codec_data) = match self.format {
            OutputFormat::ByteStream => ("byte-stream", None),
            OutputFormat::LengthPrefixed(name) => {
                if !self.sets.complete() {
                    return None;
                }
                (name, Some(C::build_codec_data(&self.sets)))
            }
        };
        let mut builder = gst::Caps::builder(C::MEDIA_TYPE)
            .field("stream-format", stream_format)
            .field("alignment", if self.au_aligned { "au" } else { "nal" });
        if let Some(data) = codec_data {
            builder = builder.field("codec_data", gst::Buffer::from_mut_slice(data));
        }
        for (name, value) in super::profile_level_fields::<C>(&self.sets) {
            builder = builder.field(name, value);
        }
        Some(builder.build())
    }

    /// New RTP caps: parameter sets from SDP, depacketizer settings, output negotiation
    /// against `peer` (the caps downstream accepts, queried before the lock) within `templ`.
    pub(super) fn set_sink_caps(
        &mut self,
        caps: &gst::Caps,
        peer: &gst::Caps,
        templ: &gst::Caps,
        actions: &mut Actions,
    ) -> bool {
        let Some(s) = caps.structure(0) else {
            return false;
        };
        match C::sets_from_caps(s) {
            Ok(sets) => {
                for set in sets {
                    self.caps_dirty |= self.sets.cache::<C>(&set);
                }
            }
            Err(err) => gst::warning!(crate::CAT, "Ignoring {err}"),
        }
        self.depacketizer = Some(C::depacketizer_for_caps(s));
        self.negotiate_output(peer, templ);
        self.caps_dirty = true;
        // Length-prefixed output waits for parameter sets before it can send codec_data.
        if let Some(caps) = self.output_caps() {
            self.caps_dirty = false;
            actions.push(Action::SetCaps(caps));
        }
        true
    }

    /// Output format wanted downstream: the first stream-format/alignment it accepts.
    fn negotiate_output(&mut self, peer: &gst::Caps, templ: &gst::Caps) {
        if peer.is_any() {
            // Downstream takes anything: byte-stream access units, as the C elements do.
            self.format = OutputFormat::ByteStream;
            self.au_aligned = true;
            return;
        }
        let peer = peer.intersect(templ);
        let s = peer.structure(0);
        let wanted = s.and_then(|s| first_string(s, "stream-format"));
        self.format = match C::LENGTH_PREFIXED_OUTPUT
            .iter()
            .find(|f| wanted.as_deref() == Some(**f))
        {
            Some(name) => OutputFormat::LengthPrefixed(name),
            None => OutputFormat::ByteStream,
        };
        self.au_aligned = self.format != OutputFormat::ByteStream
            || s.and_then(|s| first_string(s, "alignment")).as_deref() != Some("nal");
    }

    /// Handles one packet.
    pub(super) fn handle_packet(&mut self, packet: &IncomingPacket, actions: &mut Actions) {
        let mut request = false;
        if packet.discont() {
            request |= self.policy.on_loss();
            // The depacketizer drops what it was assembling.
            self.unemitted_since = None;
        }
        let seq = packet.ext_seqnum();
        let first = *self.unemitted_since.get_or_insert(seq);
        self.last_packet = Some(seq);
        let mut out = Vec::new();
        let mut drops = Vec::new();
        let depacketizer = self.depacketizer.get_or_insert_with(|| {
            C::depacketizer_for_caps(gst::Structure::new_empty("application/x-rtp").as_ref())
        });
        depacketizer.push(
            packet.payload(),
            packet.ext_timestamp(),
            packet.marker(),
            packet.discont(),
            &mut out,
            &mut drops,
        );
        if !out.is_empty() {
            self.unemitted_since = None;
        }
        if !drops.is_empty() && self.report_drops(&drops, packet.discont(), actions) {
            request |= self.policy.on_loss();
        }
        self.take_nals(out, Some(packet), Some(first..=seq), actions);
        if request {
            actions.push(Action::RequestKeyframe);
        }
    }

    /// End of stream: releases what is held and outputs the last access unit.
    pub(super) fn drain(&mut self, actions: &mut Actions) {
        let mut out = Vec::new();
        let mut drops = Vec::new();
        if let Some(d) = self.depacketizer.as_mut() {
            d.drain(&mut out, &mut drops);
        }
        self.report_drops(&drops, false, actions);
        let packets = self
            .last_packet
            .map(|last| self.unemitted_since.take().unwrap_or(last)..=last);
        self.take_nals(out, None, packets, actions);
        self.finish_au(actions);
        // Non-VCL units with no picture after them still reach the decoder.
        let leading = std::mem::take(&mut self.leading);
        if let Some(timestamp) = self.leading_timestamp.take()
            && !leading.is_empty()
        {
            self.output_au(leading, timestamp, false, actions);
        }
    }

    /// Flush: forgets everything in progress.
    pub fn flush(&mut self) {
        if let Some(d) = self.depacketizer.as_mut() {
            d.reset();
        }
        self.au.clear();
        self.au_bytes = 0;
        self.au_timestamp = None;
        self.au_marker = false;
        self.leading.clear();
        self.leading_timestamp = None;
        self.policy.reset();
        self.unemitted_since = None;
        self.last_packet = None;
    }

    /// Takes the NAL units of a packet (or of the drain) into access units. An access unit
    /// ends at the NAL unit of a packet with the marker bit, or where the timestamp changes;
    /// with a decoding-order buffer only where the timestamp changes in decoding order (a
    /// marked packet need not carry the last NAL unit of its access unit in that order).
    /// `packets`: the packets the NAL units come from.
    fn take_nals(
        &mut self,
        nals: Vec<OutputNal>,
        packet: Option<&IncomingPacket>,
        packets: Option<RangeInclusive<u64>>,
        actions: &mut Actions,
    ) {
        let marker_ends_au = !self.depacketizer.as_ref().is_some_and(|d| d.reorders());
        for nal in nals {
            // The NAL header (and a parameter set's bytes) are read from the packet's payload
            // where the unit comes from; only reassembled units need a map.
            let au_nal = match nal.data {
                NalData::Payload(range) => {
                    let Some(packet) = packet else { continue };
                    let Some(bytes) = packet.payload().get(range.clone()) else {
                        continue;
                    };
                    let (kind, vcl) = self.note_nal(bytes);
                    let Some(memories) = packet.payload_memories(range) else {
                        continue;
                    };
                    // A unit from the payload comes from this packet alone.
                    let seq = packet.ext_seqnum();
                    AuNal {
                        kind,
                        vcl,
                        size: bytes.len(),
                        memories,
                        packets: Some(seq..=seq),
                    }
                }
                NalData::Owned(bytes) => {
                    let (kind, vcl) = self.note_nal(&bytes);
                    AuNal::owned(kind, vcl, bytes, packets.clone())
                }
                // A form the core adds later has no bytes this element can read.
                _ => continue,
            };
            if self.au_timestamp.is_some_and(|ts| ts != nal.timestamp) {
                self.finish_au(actions);
            }
            self.au_timestamp = Some(nal.timestamp);
            self.au_bytes += au_nal.size;
            self.au.push(au_nal);
            self.au_marker = nal.marker;
            if nal.marker && marker_ends_au {
                self.finish_au(actions);
            } else if self.au.len() >= MAX_AU_NALS || self.au_bytes >= MAX_AU_BYTES {
                actions.push(Action::Warn(format!(
                    "Access unit of {} NAL units / {} bytes without an end: output as is",
                    self.au.len(),
                    self.au_bytes
                )));
                self.au_marker = false;
                self.finish_au(actions);
            }
        }
    }

    /// The NAL type of `nal` and whether it is a coded slice; a parameter set is cached (and
    /// the caps marked for update when it is new).
    fn note_nal(&mut self, nal: &[u8]) -> (u8, bool) {
        let header = [
            nal.first().copied().unwrap_or(0),
            nal.get(1).copied().unwrap_or(0),
        ];
        let kind = C::nal_type(header);
        if C::param_set_kind(kind).is_some() && self.sets.cache::<C>(nal) {
            self.caps_dirty = true;
        }
        (kind, <C::Format as NalFormat>::is_vcl(header))
    }

    /// Counts and reports drops; true when data was lost (a fragmented NAL unit could not be
    /// completed). The intact NAL units of the access unit are kept: the decoder conceals
    /// the missing slice, and `wait-for-keyframe` decides whether it gets the picture.
    /// Fragments missing because packets were lost (`discont`) are loss, counted in
    /// `packets-lost` by the base class, logged at debug level and not warned about; the
    /// same reasons without a sequence gap are a sender's fault, dropped and warned about.
    fn report_drops(&mut self, drops: &[DropReason], discont: bool, actions: &mut Actions) -> bool {
        let mut loss = false;
        for reason in drops {
            let fragment_lost = matches!(
                reason,
                DropReason::IncompleteFragmentedNal | DropReason::FragmentWithoutStart
            );
            if fragment_lost && discont {
                gst::debug!(crate::CAT, "Packet loss: {reason}");
                actions.push(Action::Discont);
            } else {
                actions.push(Action::Drop(*reason));
            }
            loss |= fragment_lost;
        }
        loss
    }
}

pub(crate) use super::depay_element::nal_depay_imp;
pub use super::depay_element::{NalDepayElement, templates};
