// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! A toy FEC encoder on `RtpBaseFilter2`: after every [`GROUP`] media packets it emits an
//! "XOR FEC" packet (payload type [`FEC_PT`]) whose payload is the first protected packet's
//! output sequence number (2 bytes, as the base class reported it), the packet count, and
//! the XOR of the protected payloads (zero-padded to the longest). With `inband=false` the
//! FEC packets have their own SSRC ([`FEC_SSRC`]) and sequence numbers from [`FEC_SEQ_START`]
//! and media passes unchanged; with `inband=true` they go inside the media stream, whose
//! packets are renumbered around them. Payload type [`DROP_PT`] is consumed; payload type
//! [`REMARK_PT`] is forwarded with the marker bit set and the timestamp + 1 (a header
//! rewrite); an empty payload is bad input. What is left of a group is protected at EOS.
//! With `recover=true`, a single media packet lost right before the one being handled is
//! "recovered" (a stand-in for FEC decoding: payload [`RECOVERED`], timestamp − 1) and sent
//! with its own sequence number before it.

use std::sync::Mutex;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gstrtp2::base::filter::{
    FilterPacket, NewPacket, OutputStream, RecoveredPacket, Rewrite, RtpBaseFilter2,
    RtpBaseFilter2Ext, RtpBaseFilter2Impl, Seqnums, StreamId,
};

glib::wrapper! {
    pub struct ToyFec(ObjectSubclass<imp::ToyFec>)
        @extends RtpBaseFilter2, gst::Element, gst::Object;
}

/// Media packets per FEC packet.
pub const GROUP: usize = 2;
/// Payload type of the FEC packets.
pub const FEC_PT: u8 = 100;
/// SSRC of the separate FEC stream.
pub const FEC_SSRC: u32 = 0xfec0_fec0;
/// First sequence number of the separate FEC stream.
pub const FEC_SEQ_START: u16 = 65534;
/// Packets of this payload type are consumed (not forwarded).
pub const DROP_PT: u8 = 127;
/// Packets of this payload type are forwarded with a rewritten marker and timestamp.
pub const REMARK_PT: u8 = 98;
/// Payload of a "recovered" packet.
pub const RECOVERED: u8 = 0xee;

/// Registers the toy as element `rtp2toyfec` (once per process).
pub fn register() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        gst::Element::register(None, "rtp2toyfec", gst::Rank::NONE, ToyFec::static_type())
            .expect("register rtp2toyfec");
    });
}

mod imp {
    use super::*;

    #[derive(Default)]
    struct Group {
        /// Output sequence number of the first protected packet.
        base: Option<u16>,
        count: u8,
        xor: Vec<u8>,
        timestamp: u32,
    }

    #[derive(Default)]
    struct State {
        /// FEC stream, and the media stream (the same one when in band).
        fec: Option<StreamId>,
        media: Option<StreamId>,
        inband: bool,
        /// Extended seqnum of the last media packet.
        last_media: Option<u64>,
        group: Group,
    }

    #[derive(Default)]
    pub struct ToyFec {
        inband: Mutex<bool>,
        recover: Mutex<bool>,
        state: Mutex<State>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ToyFec {
        const NAME: &'static str = "Rtp2TestToyFec";
        type Type = super::ToyFec;
        type ParentType = RtpBaseFilter2;
    }

    impl ObjectImpl for ToyFec {
        fn properties() -> &'static [glib::ParamSpec] {
            static PROPS: std::sync::LazyLock<Vec<glib::ParamSpec>> =
                std::sync::LazyLock::new(|| {
                    vec![
                        glib::ParamSpecBoolean::builder("inband")
                            .blurb("FEC inside the media stream")
                            .build(),
                        glib::ParamSpecBoolean::builder("recover")
                            .blurb("Stand in for one lost media packet")
                            .build(),
                    ]
                });
            PROPS.as_ref()
        }

        fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
            match pspec.name() {
                "inband" => *self.inband.lock().unwrap() = value.get().unwrap(),
                _ => *self.recover.lock().unwrap() = value.get().unwrap(),
            }
        }

        fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
            match pspec.name() {
                "inband" => self.inband.lock().unwrap().to_value(),
                _ => self.recover.lock().unwrap().to_value(),
            }
        }
    }

    impl GstObjectImpl for ToyFec {}

    impl ElementImpl for ToyFec {
        fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
            static META: std::sync::LazyLock<gst::subclass::ElementMetadata> =
                std::sync::LazyLock::new(|| {
                    gst::subclass::ElementMetadata::new(
                        "Toy XOR FEC encoder",
                        "Codec/Network/RTP",
                        "Test subclass of RtpBaseFilter2",
                        "tests",
                    )
                });
            Some(&META)
        }

        fn pad_templates() -> &'static [gst::PadTemplate] {
            static TEMPLATES: std::sync::LazyLock<Vec<gst::PadTemplate>> =
                std::sync::LazyLock::new(|| {
                    let caps = gst::Caps::new_empty_simple("application/x-rtp");
                    ["sink", "src"]
                        .into_iter()
                        .zip([gst::PadDirection::Sink, gst::PadDirection::Src])
                        .map(|(name, dir)| {
                            gst::PadTemplate::new(name, dir, gst::PadPresence::Always, &caps)
                                .unwrap()
                        })
                        .collect()
                });
            TEMPLATES.as_ref()
        }
    }

    impl ToyFec {
        /// Emits the FEC packet of the group, if any (no toy lock held while emitting).
        fn finish_group(&self) {
            let (group, fec) = {
                let mut state = self.state.lock().unwrap();
                (std::mem::take(&mut state.group), state.fec)
            };
            let (Some(base), Some(fec)) = (group.base, fec) else {
                return;
            };
            let mut payload = base.to_be_bytes().to_vec();
            payload.push(group.count);
            payload.extend_from_slice(&group.xor);
            self.obj().emit_packet(
                fec,
                NewPacket {
                    payload: gst::Buffer::from_mut_slice(payload),
                    marker: false,
                    payload_type: Some(FEC_PT),
                    timestamp: group.timestamp,
                    pts: None,
                },
            );
        }
    }

    impl RtpBaseFilter2Impl for ToyFec {
        fn start(&self) -> Result<(), gst::ErrorMessage> {
            let obj = self.obj();
            let inband = *self.inband.lock().unwrap();
            let media = obj.add_output_stream(OutputStream {
                ssrc: None,
                payload_type: None,
                seqnums: Seqnums::FollowInput,
            });
            let fec = if inband {
                media
            } else {
                obj.add_output_stream(OutputStream {
                    ssrc: Some(FEC_SSRC),
                    payload_type: Some(FEC_PT),
                    seqnums: Seqnums::Own {
                        start: Some(FEC_SEQ_START),
                    },
                })
            };
            *self.state.lock().unwrap() = State {
                fec: Some(fec),
                media: Some(media),
                inband,
                last_media: None,
                group: Group::default(),
            };
            Ok(())
        }

        fn handle_packet(&self, packet: &FilterPacket) -> Result<gst::FlowSuccess, gst::FlowError> {
            if packet.payload_type() == DROP_PT {
                return Ok(gst::FlowSuccess::Ok);
            }
            if packet.payload().is_empty() {
                self.obj().drop_invalid(&"empty toy media payload");
                return Ok(gst::FlowSuccess::Ok);
            }
            let (media, inband, lost_one) = {
                let mut state = self.state.lock().unwrap();
                let ext = packet.ext_seqnum();
                let lost_one = state.last_media.is_some_and(|last| ext == last + 2);
                state.last_media = Some(ext);
                let media = state.media.ok_or(gst::FlowError::Flushing)?;
                (media, state.inband, lost_one)
            };
            if lost_one && *self.recover.lock().unwrap() {
                let sent = self.obj().emit_recovered(RecoveredPacket {
                    ssrc: packet.ssrc(),
                    payload_type: packet.payload_type(),
                    seqnum: packet.seqnum().wrapping_sub(1),
                    timestamp: packet.timestamp().wrapping_sub(1),
                    marker: false,
                    payload: gst::Buffer::from_slice([RECOVERED]),
                    pts: None,
                });
                // The base class places it right before this packet, across wraps too.
                if sent.ext_seqnum + 1 != packet.ext_seqnum() {
                    return Err(gst::FlowError::Error);
                }
            }
            let remark = packet.payload_type() == REMARK_PT;
            let emitted = if inband || remark {
                let rewrite = Rewrite {
                    marker: remark.then_some(true),
                    timestamp: remark.then(|| packet.timestamp().wrapping_add(1)),
                };
                self.obj()
                    .forward_on(packet, media, rewrite)
                    .ok_or(gst::FlowError::Error)?
            } else {
                self.obj().forward(packet)
            };
            let full = {
                let mut state = self.state.lock().unwrap();
                let group = &mut state.group;
                group.base.get_or_insert(emitted.seqnum);
                group.count += 1;
                group.timestamp = packet.timestamp();
                let payload = packet.payload();
                if group.xor.len() < payload.len() {
                    group.xor.resize(payload.len(), 0);
                }
                for (x, b) in group.xor.iter_mut().zip(payload) {
                    *x ^= b;
                }
                usize::from(group.count) == GROUP
            };
            if full {
                self.finish_group();
            }
            Ok(gst::FlowSuccess::Ok)
        }

        fn drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
            self.finish_group();
            Ok(gst::FlowSuccess::Ok)
        }

        fn flush(&self) {
            self.state.lock().unwrap().group = Group::default();
        }
    }
}
