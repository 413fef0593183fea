// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

use std::sync::LazyLock;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::g729;

use crate::base::audiopay::{RtpBaseAudioPay2Ext, RtpBaseAudioPay2Impl};
use crate::base::pay::{RtpBasePay2Ext, RtpBasePay2Impl};

#[derive(Default)]
pub struct RtpG729Pay;

#[glib::object_subclass]
impl ObjectSubclass for RtpG729Pay {
    const NAME: &'static str = "GstRtp2G729Pay";
    type Type = super::RtpG729Pay;
    type ParentType = crate::base::audiopay::RtpBaseAudioPay2;
}

impl ObjectImpl for RtpG729Pay {
    fn constructed(&self) {
        self.parent_constructed();
        // The static payload type of G.729 (RFC 3551 §6, table 4).
        self.obj().set_property("pt", u32::from(g729::PAYLOAD_TYPE));
    }
}

impl GstObjectImpl for RtpG729Pay {}

impl ElementImpl for RtpG729Pay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "RTP G.729 payloader",
                "Codec/Payloader/Network/RTP",
                "Packetize G.729 audio into RTP packets (RFC 3551, with Annex B SID frames)",
                "gst-plugin-rtp2 developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let sink = gst::Caps::builder("audio/G729")
                .field("channels", 1i32)
                .field("rate", g729::CLOCK_RATE as i32)
                .build();
            let src = gst::Caps::builder_full()
                .structure(
                    gst::Structure::builder("application/x-rtp")
                        .field("media", "audio")
                        .field("payload", i32::from(g729::PAYLOAD_TYPE))
                        .field("clock-rate", g729::CLOCK_RATE as i32)
                        .field("encoding-name", "G729")
                        .build(),
                )
                .structure(
                    gst::Structure::builder("application/x-rtp")
                        .field("media", "audio")
                        .field("payload", gst::IntRange::new(96i32, 127))
                        .field("clock-rate", g729::CLOCK_RATE as i32)
                        .field("encoding-name", "G729")
                        .build(),
                )
                .build();
            vec![
                gst::PadTemplate::new(
                    "sink",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &sink,
                )
                .expect("valid sink template"),
                gst::PadTemplate::new(
                    "src",
                    gst::PadDirection::Src,
                    gst::PadPresence::Always,
                    &src,
                )
                .expect("valid src template"),
            ]
        });
        TEMPLATES.as_ref()
    }
}

impl RtpBasePay2Impl for RtpG729Pay {
    /// Metas tagged "audio" (or untagged) are copied to the packets, as in C.
    const ALLOWED_META_TAGS: &'static [&'static str] = &["audio"];

    fn set_sink_caps(&self, caps: &gst::Caps) -> bool {
        let Some(s) = caps.structure(0) else {
            return false;
        };
        if s.get::<i32>("channels").is_ok_and(|c| c != 1) {
            gst::warning!(
                crate::CAT,
                imp = self,
                "Only mono G.729 is supported: {caps}"
            );
            return false;
        }
        let obj = self.obj();
        obj.set_framing(g729::FRAMING);
        let mut src_caps = gst::Caps::builder("application/x-rtp")
            .field("media", "audio")
            .field("clock-rate", g729::CLOCK_RATE as i32)
            .field("encoding-name", "G729")
            .build();
        // RFC 4856 / RFC 3555: annexb=no tells the peer no comfort-noise frames will come.
        if let Ok(annexb) = s.get::<bool>("annexb") {
            src_caps
                .make_mut()
                .set("annexb", if annexb { "yes" } else { "no" });
        }
        obj.set_src_caps(&src_caps)
    }

    fn handle_buffer(&self, buffer: &gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let obj = self.obj();
        let len = buffer.size();
        // The input is whole frames back to back: 10-byte speech frames, and possibly one
        // 2-byte Annex B SID frame at the end, which must also end the RTP packet.
        match g729::layout_of_len(len) {
            Ok(layout) => obj.push_audio(buffer, layout.has_sid),
            Err(err) => {
                gst::warning!(
                    crate::CAT,
                    imp = self,
                    "Dropping G.729 input of {len} bytes: {err}"
                );
                gst::element_imp_warning!(
                    self,
                    gst::StreamError::Format,
                    ["Dropping G.729 input of {len} bytes: {err}"]
                );
                Ok(gst::FlowSuccess::Ok)
            }
        }
    }
}

impl RtpBaseAudioPay2Impl for RtpG729Pay {}
