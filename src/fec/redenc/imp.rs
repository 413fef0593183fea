// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The encoder keeps the last packets of the SSRC (payload type, timestamp, payload) by
//! extended sequence number; a RED packet carries, oldest first, the packets
//! `distance + redundant-blocks - 1` … `distance` back (each only when it is in the history,
//! its timestamp offset fits 14 bits and its length 10 bits, RFC 2198 §3), then the input's
//! payload as primary. The RED packet keeps the input's header (sequence number, timestamp,
//! marker, SSRC, CSRCs, extension) with payload type `pt`.

use std::collections::VecDeque;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::fec::red::{self, MAX_BLOCK_LEN, MAX_TIMESTAMP_OFFSET, RedBlock};

use crate::base::extensions::lock;
use crate::base::filter::{FilterPacket, RtpBaseFilter2, RtpBaseFilter2Ext, RtpBaseFilter2Impl};

const MAX_BLOCKS: u32 = 8;

#[derive(Debug, Clone, Copy)]
struct Settings {
    pt: i32,
    distance: u32,
    allow_no_red_blocks: bool,
    blocks: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            pt: 0,
            distance: 0,
            allow_no_red_blocks: true,
            blocks: 1,
        }
    }
}

struct Past {
    ext_seqnum: u64,
    timestamp: u32,
    payload_type: u8,
    payload: Vec<u8>,
}

#[derive(Default)]
struct State {
    ssrc: Option<u32>,
    history: VecDeque<Past>,
}

#[derive(Default)]
pub struct RtpRedEnc {
    settings: Mutex<Settings>,
    state: Mutex<State>,
    sent: Mutex<u32>,
}

#[glib::object_subclass]
impl ObjectSubclass for RtpRedEnc {
    const NAME: &'static str = "GstRtp2RedEnc";
    type Type = super::RtpRedEnc;
    type ParentType = RtpBaseFilter2;
}

impl ObjectImpl for RtpRedEnc {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecInt::builder("pt")
                    .nick("payload type")
                    .blurb("Payload type FEC packets (-1 disable)")
                    .minimum(0)
                    .maximum(127)
                    .default_value(0)
                    .build(),
                glib::ParamSpecUInt::builder("distance")
                    .nick("RED distance")
                    .blurb("Tells which media packet to use as a redundant block (0 - no redundant blocks, 1 to use previous packet, 2 to use the packet before previous, etc.)")
                    .build(),
                glib::ParamSpecBoolean::builder("allow-no-red-blocks")
                    .nick("Allow no redundant blocks")
                    .blurb("true - can produce RED packets even without redundant blocks (distance==0) false - RED packets will be produced only if distance>0")
                    .default_value(true)
                    .build(),
                glib::ParamSpecUInt::builder("sent")
                    .nick("Sent")
                    .blurb("Count of sent packets")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt::builder("redundant-blocks")
                    .nick("Redundant blocks")
                    .blurb("How many earlier packets each RED packet carries: distance, distance + 1, … back")
                    .minimum(1)
                    .maximum(MAX_BLOCKS)
                    .default_value(1)
                    .build(),
            ]
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = lock(&self.settings);
        match pspec.name() {
            "pt" => s.pt = value.get().unwrap_or(0),
            "distance" => s.distance = value.get().unwrap_or(0),
            "allow-no-red-blocks" => s.allow_no_red_blocks = value.get().unwrap_or(true),
            "redundant-blocks" => s.blocks = value.get().unwrap_or(1),
            _ => {}
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = *lock(&self.settings);
        match pspec.name() {
            "pt" => s.pt.to_value(),
            "distance" => s.distance.to_value(),
            "allow-no-red-blocks" => s.allow_no_red_blocks.to_value(),
            "sent" => lock(&self.sent).to_value(),
            "redundant-blocks" => s.blocks.to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for RtpRedEnc {}

crate::fec::fec_element_impl!(
    RtpRedEnc,
    "Redundant Audio Data (RED) Encoder",
    "Codec/Payloader/Network/RTP",
    "Encode Redundant Audio Data (RED, RFC 2198)"
);

impl RtpBaseFilter2Impl for RtpRedEnc {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = State::default();
        *lock(&self.sent) = 0;
        Ok(())
    }

    fn handle_packet(&self, packet: &FilterPacket) -> Result<gst::FlowSuccess, gst::FlowError> {
        let s = *lock(&self.settings);
        if s.distance == 0 && !s.allow_no_red_blocks {
            self.obj().forward(packet);
            return Ok(gst::FlowSuccess::Ok);
        }
        let (ext, ts) = (packet.ext_seqnum(), packet.timestamp());
        let payload = {
            let mut state = lock(&self.state);
            if state.ssrc != Some(packet.ssrc()) {
                state.ssrc = Some(packet.ssrc());
                state.history.clear();
            }
            let blocks: Vec<RedBlock> = if s.distance == 0 {
                Vec::new()
            } else {
                (0..s.blocks.min(MAX_BLOCKS))
                    .rev()
                    .map(|j| u64::from(s.distance) + u64::from(j))
                    .filter_map(|d| ext.checked_sub(d))
                    .filter_map(|seq| state.history.iter().find(|p| p.ext_seqnum == seq))
                    .filter(|p| {
                        let offset = ts.wrapping_sub(p.timestamp);
                        offset <= MAX_TIMESTAMP_OFFSET && p.payload.len() <= MAX_BLOCK_LEN
                    })
                    .map(|p| RedBlock {
                        payload_type: p.payload_type,
                        timestamp_offset: ts.wrapping_sub(p.timestamp) as u16,
                        data: &p.payload,
                    })
                    .collect()
            };
            let payload = red::write(&blocks, packet.payload_type(), packet.payload()).ok();
            let keep = (s.distance + s.blocks.min(MAX_BLOCKS)) as usize;
            state.history.push_back(Past {
                ext_seqnum: ext,
                timestamp: ts,
                payload_type: packet.payload_type(),
                payload: packet.payload().to_vec(),
            });
            while state.history.len() > keep {
                state.history.pop_front();
            }
            payload
        };
        let Some(payload) = payload else {
            self.obj().forward(packet);
            return Ok(gst::FlowSuccess::Ok);
        };
        let header_len = packet.data().len() - packet.payload().len() - padding_len(packet);
        let out = super::super::packet_with_payload(
            packet.buffer(),
            &packet.data()[..header_len],
            s.pt as u8,
            None,
            gst::Buffer::from_mut_slice(payload),
        );
        self.obj().emit_buffer(out, false);
        {
            let mut sent = lock(&self.sent);
            *sent = sent.wrapping_add(1);
        }
        Ok(gst::FlowSuccess::Ok)
    }
}

/// Padding bytes at the end of the input (RFC 3550 §5.1): dropped from the RED packet, whose
/// padding bit is cleared.
fn padding_len(packet: &FilterPacket) -> usize {
    let data = packet.data();
    if data.first().is_some_and(|b| b & 0x20 != 0) {
        data.last().map_or(0, |&n| usize::from(n))
    } else {
        0
    }
}
