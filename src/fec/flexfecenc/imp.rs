// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The encoder: media packets are forwarded unchanged (the same buffer); the media SSRC seen
//! first is protected by an `rtp2_core` `FlexfecSender`, whose repair packets (whole RTP
//! packets with the FEC SSRC, payload type and numbering) go out just before the media packet
//! that completed them. Packets of other SSRCs, and of the FEC payload type, pass unprotected.

use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::fec::flexfec_sender::{FlexfecSender, Protection as CoreProtection};
use rtp2_core::fec::masks::MaskKind;

use super::{Protection, WireFormat};
use crate::base::extensions::lock;
use crate::base::filter::{FilterPacket, RtpBaseFilter2, RtpBaseFilter2Ext, RtpBaseFilter2Impl};
use crate::fec::ulpfecenc::MaskType;

const DEFAULT_PT: u32 = 118;

#[derive(Debug, Clone, Copy)]
struct Settings {
    pt: u32,
    ssrc: u32,
    wire_format: WireFormat,
    protection: Protection,
    mask_type: MaskType,
    percentage: u32,
    columns: u32,
    rows: u32,
    max_frames: u32,
    diagonals: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            pt: DEFAULT_PT,
            ssrc: 0,
            wire_format: WireFormat::default(),
            protection: Protection::default(),
            mask_type: MaskType::Interleaved,
            percentage: 20,
            columns: 10,
            rows: 5,
            max_frames: 1,
            diagonals: 1,
        }
    }
}

impl Settings {
    fn core_protection(&self) -> CoreProtection {
        let (l, d) = (
            self.columns.clamp(1, 255) as u8,
            self.rows.clamp(2, 255) as u8,
        );
        match self.protection {
            Protection::Row => CoreProtection::Row { l },
            Protection::Column => CoreProtection::Column { l, d },
            Protection::RowColumn => CoreProtection::RowColumn { l, d },
            Protection::ColumnDiagonal => CoreProtection::ColumnDiagonal {
                l,
                d,
                k: self.diagonals.clamp(1, 3) as u8 + 1,
            },
            _ => CoreProtection::Flexible {
                kind: mask_kind(self.mask_type),
                percentage: self.percentage,
                max_frames: self.max_frames.clamp(1, 255) as u8,
            },
        }
    }
}

/// The core mask layout of a `mask-type` value.
fn mask_kind(mask_type: MaskType) -> MaskKind {
    match mask_type {
        MaskType::Contiguous => MaskKind::Contiguous,
        MaskType::Random => MaskKind::Random,
        MaskType::Bursty => MaskKind::Bursty,
        _ => MaskKind::Interleaved,
    }
}

#[derive(Debug, Default)]
struct State {
    sender: Option<FlexfecSender>,
    media_ssrc: Option<u32>,
    fec_ssrc: u32,
    /// The FEC payload type (the `pt` setting at start), passed through unprotected.
    fec_pt: u8,
}

#[derive(Default)]
pub struct RtpFlexFecEnc {
    settings: Mutex<Settings>,
    state: Mutex<State>,
}

impl RtpFlexFecEnc {
    fn send(&self, repairs: Vec<Vec<u8>>, pts: Option<gst::ClockTime>) {
        for r in repairs {
            let mut buffer = gst::Buffer::from_mut_slice(r);
            if let Some(b) = buffer.get_mut() {
                b.set_pts(pts);
            }
            self.obj().emit_buffer(buffer, false);
        }
    }
}

#[glib::object_subclass]
impl ObjectSubclass for RtpFlexFecEnc {
    const NAME: &'static str = "GstRtp2FlexFecEnc";
    type Type = super::RtpFlexFecEnc;
    type ParentType = RtpBaseFilter2;
}

impl ObjectImpl for RtpFlexFecEnc {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecUInt::builder("pt")
                    .nick("payload type")
                    .blurb("The payload type of the FEC packets")
                    .maximum(127)
                    .default_value(DEFAULT_PT)
                    .build(),
                glib::ParamSpecUInt::builder("ssrc")
                    .nick("SSRC")
                    .blurb("The SSRC of the FEC packets (0: random, chosen at start)")
                    .build(),
                glib::ParamSpecEnum::builder::<WireFormat>("wire-format")
                    .nick("Wire format")
                    .blurb("flexfec-03 (libwebrtc, Chrome) or RFC 8627")
                    .build(),
                glib::ParamSpecEnum::builder::<Protection>("protection")
                    .nick("Protection")
                    .blurb(
                        "Flexible masks per frame, 1-D row, 1-D column, 2-D row and column, or \
                         column and diagonals (flexible masks; (1 + diagonals)/rows overhead)",
                    )
                    .build(),
                glib::ParamSpecEnum::builder::<MaskType>("mask-type")
                    .nick("Mask type")
                    .blurb("Mask layout of the flexible protection")
                    .default_value(MaskType::Interleaved)
                    .build(),
                glib::ParamSpecUInt::builder("percentage")
                    .nick("Percentage")
                    .blurb("FEC packets per 100 media packets (flexible protection)")
                    .maximum(100)
                    .default_value(20)
                    .build(),
                glib::ParamSpecUInt::builder("columns")
                    .nick("Columns (L)")
                    .blurb(
                        "Packets per row: row, column, row-column and column-diagonal protection",
                    )
                    .minimum(1)
                    .maximum(255)
                    .default_value(10)
                    .build(),
                glib::ParamSpecUInt::builder("rows")
                    .nick("Rows (D)")
                    .blurb("Rows of a block: column, row-column and column-diagonal protection")
                    .minimum(2)
                    .maximum(255)
                    .default_value(5)
                    .build(),
                glib::ParamSpecUInt::builder("max-frames")
                    .nick("Max frames")
                    .blurb(
                        "Most frames one group of flexible protection spans (libwebrtc's \
                         max_fec_frames; 1: every frame protected on its own)",
                    )
                    .minimum(1)
                    .maximum(255)
                    .default_value(1)
                    .build(),
                glib::ParamSpecUInt::builder("diagonals")
                    .nick("Diagonals")
                    .blurb(
                        "Diagonal slopes of column-diagonal protection: each packet protected \
                         1 + diagonals times, overhead (1 + diagonals)/rows",
                    )
                    .minimum(1)
                    .maximum(3)
                    .default_value(1)
                    .build(),
                glib::ParamSpecUInt::builder("protected")
                    .nick("Protected")
                    .blurb("Count of protected packets")
                    .read_only()
                    .build(),
            ]
        });
        PROPS.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = lock(&self.settings);
        match pspec.name() {
            "pt" => s.pt = value.get().unwrap_or(DEFAULT_PT),
            "ssrc" => s.ssrc = value.get().unwrap_or(0),
            "wire-format" => s.wire_format = value.get().unwrap_or_default(),
            "protection" => s.protection = value.get().unwrap_or_default(),
            "mask-type" => s.mask_type = value.get().unwrap_or(MaskType::Interleaved),
            "percentage" => s.percentage = value.get().unwrap_or(20),
            "columns" => s.columns = value.get().unwrap_or(10),
            "rows" => s.rows = value.get().unwrap_or(5),
            "max-frames" => s.max_frames = value.get().unwrap_or(1),
            "diagonals" => s.diagonals = value.get().unwrap_or(1),
            _ => {}
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = *lock(&self.settings);
        match pspec.name() {
            "pt" => s.pt.to_value(),
            "ssrc" => s.ssrc.to_value(),
            "wire-format" => s.wire_format.to_value(),
            "protection" => s.protection.to_value(),
            "mask-type" => s.mask_type.to_value(),
            "percentage" => s.percentage.to_value(),
            "columns" => s.columns.to_value(),
            "rows" => s.rows.to_value(),
            "max-frames" => s.max_frames.to_value(),
            "diagonals" => s.diagonals.to_value(),
            "protected" => {
                let p = lock(&self.state).sender.as_ref().map_or(0, |s| s.protected);
                (p.min(u64::from(u32::MAX)) as u32).to_value()
            }
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for RtpFlexFecEnc {}

crate::fec::fec_element_impl!(
    RtpFlexFecEnc,
    "RTP FlexFEC Encoder",
    "Codec/Payloader/Network/RTP",
    "Adds FlexFEC repair packets (flexfec-03 or RFC 8627) on an SSRC of their own"
);

impl RtpBaseFilter2Impl for RtpFlexFecEnc {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let s = *lock(&self.settings);
        // RFC 3550 §8.1 and §5.1: random SSRC and first sequence number.
        let fec_ssrc = if s.ssrc == 0 {
            glib::random_int()
        } else {
            s.ssrc
        };
        let first = (glib::random_int() & 0xffff) as u16;
        let sender = FlexfecSender::new(
            s.wire_format.into(),
            s.core_protection(),
            fec_ssrc,
            s.pt as u8,
            first,
        );
        if sender.protection() != s.core_protection() {
            // flexfec-03's 109-bit mask cannot span the block asked for (column-diagonal:
            // neither can RFC 8627's 110 bits, or columns < rows).
            gst::warning!(
                crate::CAT,
                imp = self,
                "{:?} does not fit the masks: using {:?}",
                s.core_protection(),
                sender.protection()
            );
        }
        *lock(&self.state) = State {
            sender: Some(sender),
            media_ssrc: None,
            fec_ssrc,
            fec_pt: s.pt as u8,
        };
        Ok(())
    }

    fn handle_packet(&self, packet: &FilterPacket) -> Result<gst::FlowSuccess, gst::FlowError> {
        let repairs = {
            let mut state = lock(&self.state);
            let ours = packet.payload_type() != state.fec_pt
                && *state.media_ssrc.get_or_insert(packet.ssrc()) == packet.ssrc()
                && packet.ssrc() != state.fec_ssrc;
            match state.sender.as_mut() {
                Some(sender) if ours => sender.push(packet.data()),
                _ => Vec::new(),
            }
        };
        // The repairs a packet completes leave just before it (as SMPTE 2022-1 senders do):
        // a burst of loss then rarely takes a row's last packet and its repair together.
        self.send(repairs, packet.buffer().pts());
        self.obj().forward(packet);
        Ok(gst::FlowSuccess::Ok)
    }

    fn drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        let repairs = lock(&self.state)
            .sender
            .as_mut()
            .map(|s| s.flush())
            .unwrap_or_default();
        self.send(repairs, None);
        Ok(gst::FlowSuccess::Ok)
    }

    fn flush(&self) {
        if let Some(s) = lock(&self.state).sender.as_mut() {
            // What a flush interrupts cannot be completed: its repairs are dropped.
            let _ = s.flush();
        }
    }
}
