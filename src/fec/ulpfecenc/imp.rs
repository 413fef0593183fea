// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The encoder: media packets are forwarded on a `FollowInput` stream (renumbered around
//! the FEC packets inserted after each frame, as `rtpulpfecenc` does), grouped per frame
//! (`multipacket`: up to the marker bit, at most 48 packets) or per packet; after a group,
//! `percentage` of its packet count (`percentage-important` for a group with a
//! `NON_DROPPABLE` buffer), accumulated across groups, becomes FEC packets.

use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::fec::masks::{MaskKind, unequal_masks};
use rtp2_core::fec::ulpfec::{FecLayout, MAX_PROTECTED};

use super::MaskType;
use crate::base::extensions::lock;
use crate::base::filter::{
    FilterPacket, OutputStream, Rewrite, RtpBaseFilter2, RtpBaseFilter2Ext, RtpBaseFilter2Impl,
    Seqnums, StreamId, WrittenPacket,
};

#[derive(Debug, Clone, Copy)]
struct Settings {
    pt: u32,
    multipacket: bool,
    percentage: u32,
    percentage_important: u32,
    mask_type: MaskType,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            pt: 255,
            multipacket: true,
            percentage: 0,
            percentage_important: 0,
            mask_type: MaskType::default(),
        }
    }
}

/// The media packets of the current group: (output sequence number, packet bytes).
#[derive(Debug, Default)]
struct Group {
    packets: Vec<(u16, Vec<u8>)>,
    ssrc: u32,
    timestamp: u32,
    /// Offsets of the `NON_DROPPABLE` packets.
    important: Vec<u16>,
}

#[derive(Debug, Default)]
struct State {
    media: Option<StreamId>,
    group: Group,
    /// Percent-packets owed (`percentage` × packets, minus 100 per FEC packet sent).
    budget: u64,
    /// The masks of the last group and what they were made for (frames repeat their
    /// shape).
    masks: Option<(MaskKey, Vec<Vec<u16>>)>,
    /// Packet buffers of finished groups, reused for the next ones.
    spare: Vec<Vec<u8>>,
    /// Media packets protected (the `protected` property).
    protected: u32,
}

/// Media count, FEC count, mask kind, important offsets.
type MaskKey = (usize, usize, MaskKind, Vec<u16>);

#[derive(Default)]
pub struct RtpUlpFecEnc {
    settings: Mutex<Settings>,
    state: Mutex<State>,
}

impl RtpUlpFecEnc {
    /// Sends the FEC packets of the current group and empties it (its packets' storage kept
    /// for the next ones).
    ///
    /// Called with `state` locked: each FEC packet is written straight into its output
    /// buffer from the group's packets (no copy of them, no intermediate parity buffer).
    /// The base only queues it (no push, no signal; the base never takes this element's
    /// lock while holding its own).
    fn finish_group(&self, state: &mut State, settings: &Settings) {
        self.send_group_fec(state, settings);
        let State { group, spare, .. } = state;
        spare.extend(
            group
                .packets
                .drain(..)
                .map(|(_, p)| p)
                .take(usize::from(MAX_PROTECTED)),
        );
        group.important.clear();
    }

    fn send_group_fec(&self, state: &mut State, settings: &Settings) {
        let n = state.group.packets.len();
        let Some(media) = state.media else { return };
        if n == 0 || settings.pt > 127 {
            return;
        }
        let pct = if !state.group.important.is_empty() {
            settings.percentage.max(settings.percentage_important)
        } else {
            settings.percentage
        };
        state.budget += n as u64 * u64::from(pct);
        let k = (state.budget / 100).min(n as u64) as usize;
        state.budget -= k as u64 * 100;
        // Never owe more than one group's worth: a burst of groups without FEC does not
        // turn into a burst of FEC packets later.
        state.budget = state.budget.min(100 * MAX_PROTECTED as u64);
        if k == 0 {
            return;
        }
        let kind = match settings.mask_type {
            MaskType::Contiguous => MaskKind::Contiguous,
            MaskType::Interleaved => MaskKind::Interleaved,
            MaskType::Random => MaskKind::Random,
            _ => MaskKind::Bursty,
        };
        let group = &state.group;
        // Unequal protection (libwebrtc's masks only) when important packets are asked for
        // more protection.
        let important: &[u16] = if settings.percentage_important > 0 {
            &group.important
        } else {
            &[]
        };
        let cached = state
            .masks
            .as_ref()
            .is_some_and(|((cn, ck, ckind, cimp), _)| {
                (*cn, *ck, *ckind) == (n, k, kind) && cimp[..] == *important
            });
        if !cached {
            let masks = unequal_masks(n, k, important, kind);
            state.masks = Some(((n, k, kind, important.to_vec()), masks));
        }
        let base = group.packets[0].0;
        for mask in state.masks.iter().flat_map(|(_, masks)| masks) {
            let protected = mask
                .iter()
                .filter_map(|&i| group.packets.get(usize::from(i)))
                .map(|(seq, p)| (seq.wrapping_sub(base), &p[..]));
            let Ok(layout) = FecLayout::of(protected.clone()) else {
                continue;
            };
            self.obj().emit_written(
                media,
                WrittenPacket {
                    payload_len: layout.len(),
                    marker: false,
                    payload_type: Some(settings.pt as u8),
                    timestamp: group.timestamp,
                    pts: None,
                },
                |out| {
                    layout.write(base, protected.map(|(_, p)| p), out);
                    true
                },
            );
        }
        state.protected = state.protected.wrapping_add(n as u32);
    }
}

#[glib::object_subclass]
impl ObjectSubclass for RtpUlpFecEnc {
    const NAME: &'static str = "GstRtp2UlpFecEnc";
    type Type = super::RtpUlpFecEnc;
    type ParentType = RtpBaseFilter2;
}

impl ObjectImpl for RtpUlpFecEnc {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecUInt::builder("pt")
                    .nick("payload type")
                    .blurb("The payload type of FEC packets")
                    .maximum(255)
                    .default_value(255)
                    .build(),
                glib::ParamSpecBoolean::builder("multipacket")
                    .nick("Multipacket")
                    .blurb("Apply FEC on multiple packets")
                    .default_value(true)
                    .build(),
                glib::ParamSpecUInt::builder("percentage")
                    .nick("Percentage")
                    .blurb("FEC overhead percentage for the whole stream")
                    .maximum(100)
                    .build(),
                glib::ParamSpecUInt::builder("percentage-important")
                    .nick("Percentage important")
                    .blurb("FEC overhead percentage for important packets")
                    .maximum(100)
                    .build(),
                glib::ParamSpecUInt::builder("protected")
                    .nick("Protected")
                    .blurb("Count of protected packets")
                    .read_only()
                    .build(),
                glib::ParamSpecEnum::builder::<MaskType>("mask-type")
                    .nick("Mask type")
                    .blurb("How a frame's packets are spread over its FEC packets")
                    .build(),
            ]
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = lock(&self.settings);
        match pspec.name() {
            "pt" => s.pt = value.get().unwrap_or(255),
            "multipacket" => s.multipacket = value.get().unwrap_or(true),
            "percentage" => s.percentage = value.get().unwrap_or(0),
            "percentage-important" => s.percentage_important = value.get().unwrap_or(0),
            "mask-type" => s.mask_type = value.get().unwrap_or_default(),
            _ => {}
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = *lock(&self.settings);
        match pspec.name() {
            "pt" => s.pt.to_value(),
            "multipacket" => s.multipacket.to_value(),
            "percentage" => s.percentage.to_value(),
            "percentage-important" => s.percentage_important.to_value(),
            "protected" => lock(&self.state).protected.to_value(),
            "mask-type" => s.mask_type.to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for RtpUlpFecEnc {}

crate::fec::fec_element_impl!(
    RtpUlpFecEnc,
    "RTP FEC Encoder (ULPFEC)",
    "Codec/Payloader/Network/RTP",
    "Encodes RTP FEC (RFC 5109) inside the media stream"
);

impl RtpBaseFilter2Impl for RtpUlpFecEnc {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let media = self.obj().add_output_stream(OutputStream {
            ssrc: None,
            payload_type: None,
            seqnums: Seqnums::FollowInput,
        });
        *lock(&self.state) = State {
            media: Some(media),
            ..State::default()
        };
        Ok(())
    }

    fn handle_packet(&self, packet: &FilterPacket) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = *lock(&self.settings);
        let media = {
            let mut state = lock(&self.state);
            // A new SSRC ends the group (its numbering is another one).
            if !state.group.packets.is_empty() && state.group.ssrc != packet.ssrc() {
                self.finish_group(&mut state, &settings);
            }
            state.media
        };
        let Some(media) = media else {
            self.obj().forward(packet);
            return Ok(gst::FlowSuccess::Ok);
        };
        let Some(emitted) = self.obj().forward_on(packet, media, Rewrite::default()) else {
            return Ok(gst::FlowSuccess::Ok);
        };
        let disabled = settings.pt > 127
            || u32::from(packet.payload_type()) == settings.pt
            || (settings.percentage == 0 && settings.percentage_important == 0);
        if disabled {
            return Ok(gst::FlowSuccess::Ok);
        }
        let mut state = lock(&self.state);
        // A gap in the numbering beyond the long mask: the group ends first.
        if let Some((first, _)) = state.group.packets.first()
            && emitted.seqnum.wrapping_sub(*first) >= MAX_PROTECTED
        {
            self.finish_group(&mut state, &settings);
        }
        let g = &mut state.group;
        if g.packets.is_empty() {
            g.ssrc = packet.ssrc();
        }
        g.timestamp = packet.timestamp();
        if packet
            .buffer()
            .flags()
            .contains(gst::BufferFlags::NON_DROPPABLE)
        {
            g.important.push(g.packets.len() as u16);
        }
        let mut bytes = state.spare.pop().unwrap_or_default();
        bytes.clear();
        bytes.extend_from_slice(packet.data());
        let g = &mut state.group;
        g.packets.push((emitted.seqnum, bytes));
        if !settings.multipacket || packet.marker() || g.packets.len() >= 48 {
            self.finish_group(&mut state, &settings);
        }
        Ok(gst::FlowSuccess::Ok)
    }

    fn drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = *lock(&self.settings);
        let mut state = lock(&self.state);
        self.finish_group(&mut state, &settings);
        Ok(gst::FlowSuccess::Ok)
    }

    fn flush(&self) {
        lock(&self.state).group = Group::default();
    }
}
