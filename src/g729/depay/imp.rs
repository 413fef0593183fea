// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

use std::sync::LazyLock;

use gst::glib;
use gst::subclass::prelude::*;
use rtp2_core::g729;

use crate::base::depay::{IncomingPacket, RtpBaseDepay2Ext, RtpBaseDepay2Impl};

#[derive(Default)]
pub struct RtpG729Depay;

#[glib::object_subclass]
impl ObjectSubclass for RtpG729Depay {
    const NAME: &'static str = "GstRtp2G729Depay";
    type Type = super::RtpG729Depay;
    type ParentType = crate::base::depay::RtpBaseDepay2;
}

impl ObjectImpl for RtpG729Depay {}
impl GstObjectImpl for RtpG729Depay {}

impl ElementImpl for RtpG729Depay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "RTP G.729 depayloader",
                "Codec/Depayloader/Network/RTP",
                "Extracts G.729 audio from RTP packets (RFC 3551, with Annex B SID frames)",
                "gst-plugin-rtp2 developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let sink = gst::Caps::builder_full()
                .structure(
                    gst::Structure::builder("application/x-rtp")
                        .field("media", "audio")
                        .field("clock-rate", g729::CLOCK_RATE as i32)
                        .field("encoding-name", "G729")
                        .build(),
                )
                .structure(
                    gst::Structure::builder("application/x-rtp")
                        .field("media", "audio")
                        .field("payload", i32::from(g729::PAYLOAD_TYPE))
                        .field("clock-rate", g729::CLOCK_RATE as i32)
                        .build(),
                )
                .build();
            let src = gst::Caps::builder("audio/G729")
                .field("channels", 1i32)
                .field("rate", g729::CLOCK_RATE as i32)
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

impl RtpBaseDepay2Impl for RtpG729Depay {
    // As the C depayloader's gst_rtp_drop_non_audio_meta.
    const ALLOWED_META_TAGS: &'static [&'static str] = &["audio"];

    fn set_sink_caps(&self, caps: &gst::Caps) -> bool {
        let s = caps.structure(0);
        let channels = s
            .and_then(|s| s.get::<&str>("encoding-params").ok())
            .and_then(|p| p.trim().parse::<i32>().ok())
            .unwrap_or(1);
        if channels != 1 {
            gst::warning!(
                crate::CAT,
                imp = self,
                "Only mono G.729 is supported: {caps}"
            );
            return false;
        }
        let mut src_caps = gst::Caps::builder("audio/G729")
            .field("channels", 1i32)
            .field("rate", g729::CLOCK_RATE as i32)
            .build();
        // annexb=no in the SDP (RFC 4856 §2.1.9) promises no SID frames.
        if let Some(annexb) = s.and_then(|s| s.get::<&str>("annexb").ok()) {
            src_caps
                .make_mut()
                .set("annexb", !annexb.eq_ignore_ascii_case("no"));
        }
        self.obj().set_src_caps(&src_caps)
    }

    fn handle_packet(&self, packet: &IncomingPacket) -> Result<gst::FlowSuccess, gst::FlowError> {
        let layout = match g729::parse_payload(packet.payload()) {
            Ok(layout) => layout,
            Err(err) => {
                self.obj().drop_packet(&format_args!(
                    "G.729 payload of {} bytes: {err}",
                    packet.payload().len()
                ));
                return Ok(gst::FlowSuccess::Ok);
            }
        };
        self.obj()
            .push_audio_payload(packet, gst::ClockTime::from_nseconds(layout.duration_ns()));
        Ok(gst::FlowSuccess::Ok)
    }
}
