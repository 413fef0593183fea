// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The decoder: a RED packet (payload type `pt` or one of `payloads`) becomes its primary
//! block, with the RED packet's header and the primary's payload type. RFC 2198 carries no
//! sequence numbers for redundant blocks, so one is only sent where its number is certain:
//! when packets were lost right before this one and the redundant blocks whose timestamps
//! lie strictly between the last received packet's and this one's are exactly as many as
//! the lost packets, they stand for them in order. Otherwise (several packets of one
//! timestamp, DTX gaps) redundant blocks are dropped, never guessed.

use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::fec::red;

use crate::base::extensions::lock;
use crate::base::filter::{FilterPacket, RtpBaseFilter2, RtpBaseFilter2Ext, RtpBaseFilter2Impl};

#[derive(Debug, Clone, Default)]
struct Settings {
    pt: Option<u8>,
    payloads: Vec<i32>,
}

#[derive(Default)]
struct State {
    /// SSRC, extended sequence number and timestamp of the last packet.
    last: Option<(u32, u64, u64)>,
}

#[derive(Default)]
pub struct RtpRedDec {
    settings: Mutex<Settings>,
    state: Mutex<State>,
    received: Mutex<u32>,
}

#[glib::object_subclass]
impl ObjectSubclass for RtpRedDec {
    const NAME: &'static str = "GstRtp2RedDec";
    type Type = super::RtpRedDec;
    type ParentType = RtpBaseFilter2;
}

impl ObjectImpl for RtpRedDec {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecInt::builder("pt")
                    .nick("payload type")
                    .blurb("Payload type FEC packets")
                    .minimum(-1)
                    .maximum(127)
                    .default_value(-1)
                    .build(),
                glib::ParamSpecUInt::builder("received")
                    .nick("Received")
                    .blurb("Count of received packets")
                    .read_only()
                    .build(),
                gst::ParamSpecArray::builder("payloads")
                    .nick("RED payloads")
                    .blurb("All the RED payloads this decoder may encounter")
                    .element_spec(
                        &glib::ParamSpecInt::builder("pt")
                            .minimum(0)
                            .maximum(127)
                            .build(),
                    )
                    .build(),
            ]
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = lock(&self.settings);
        match pspec.name() {
            "pt" => s.pt = value.get::<i32>().ok().and_then(|p| u8::try_from(p).ok()),
            "payloads" => {
                s.payloads = value
                    .get::<gst::Array>()
                    .map(|a| a.iter().filter_map(|v| v.get::<i32>().ok()).collect())
                    .unwrap_or_default();
            }
            _ => {}
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = lock(&self.settings).clone();
        match pspec.name() {
            "pt" => s.pt.map_or(-1, i32::from).to_value(),
            "received" => lock(&self.received).to_value(),
            "payloads" => gst::Array::new(s.payloads).to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for RtpRedDec {}

crate::fec::fec_element_impl!(
    RtpRedDec,
    "Redundant Audio Data (RED) Decoder",
    "Codec/Depayloader/Network/RTP",
    "Decode Redundant Audio Data (RED, RFC 2198)"
);

/// A plain 12-byte header (RFC 3550 §5.1) for a redundant block sent as a packet.
fn block_header(payload_type: u8, seqnum: u16, timestamp: u32, ssrc: u32) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[0] = 0x80;
    h[1] = payload_type & 0x7f;
    h[2..4].copy_from_slice(&seqnum.to_be_bytes());
    h[4..8].copy_from_slice(&timestamp.to_be_bytes());
    h[8..12].copy_from_slice(&ssrc.to_be_bytes());
    h
}

impl RtpBaseFilter2Impl for RtpRedDec {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = State::default();
        *lock(&self.received) = 0;
        Ok(())
    }

    fn handle_packet(&self, packet: &FilterPacket) -> Result<gst::FlowSuccess, gst::FlowError> {
        let s = lock(&self.settings).clone();
        let (ssrc, ext, ext_ts) = (packet.ssrc(), packet.ext_seqnum(), packet.ext_timestamp());
        let last = lock(&self.state).last.replace((ssrc, ext, ext_ts));
        let pt = packet.payload_type();
        let is_red = s.pt == Some(pt) || s.payloads.contains(&i32::from(pt));
        if !is_red {
            self.obj().forward(packet);
            return Ok(gst::FlowSuccess::Ok);
        }
        let red = match red::parse(packet.payload()) {
            Ok(red) => red,
            Err(err) => {
                self.obj().drop_invalid(&err);
                return Ok(gst::FlowSuccess::Ok);
            }
        };
        {
            let mut received = lock(&self.received);
            *received = received.wrapping_add(1);
        }
        // Redundant blocks standing exactly for the packets lost right before this one.
        if let Some((last_ssrc, last_ext, last_ts)) = last
            && last_ssrc == ssrc
            && ext > last_ext + 1
        {
            let between: Vec<_> = red
                .redundant
                .iter()
                .filter_map(|b| {
                    let ts = ext_ts.checked_sub(u64::from(b.timestamp_offset))?;
                    (ts > last_ts && ts < ext_ts).then_some((ts, b))
                })
                .collect();
            let distinct = between.windows(2).all(|w| w[0].0 < w[1].0);
            if distinct && between.len() as u64 == ext - last_ext - 1 {
                for (i, (ts, b)) in between.into_iter().enumerate() {
                    let seq = (last_ext + 1 + i as u64) as u16;
                    let mut bytes = block_header(b.payload_type, seq, ts as u32, ssrc).to_vec();
                    bytes.extend_from_slice(b.data);
                    let mut buffer = gst::Buffer::from_mut_slice(bytes);
                    if let Some(out) = buffer.get_mut() {
                        out.set_pts(packet.buffer().pts());
                    }
                    self.obj().emit_buffer(buffer, true);
                }
            }
        }
        let start = packet.payload().len() - red.primary.len();
        let primary_pt = red.primary_payload_type;
        let header_len = packet.data().len() - packet.payload().len() - padding_len(packet);
        if let Some(payload) = packet.payload_subbuffer(start..packet.payload().len()) {
            let out = super::super::packet_with_payload(
                packet.buffer(),
                &packet.data()[..header_len],
                primary_pt,
                None,
                payload,
            );
            self.obj().emit_buffer(out, false);
        }
        Ok(gst::FlowSuccess::Ok)
    }

    fn flush(&self) {
        lock(&self.state).last = None;
    }
}

/// Padding bytes at the end of the input (RFC 3550 §5.1).
fn padding_len(packet: &FilterPacket) -> usize {
    let data = packet.data();
    if data.first().is_some_and(|b| b & 0x20 != 0) {
        data.last().map_or(0, |&n| usize::from(n))
    } else {
        0
    }
}
