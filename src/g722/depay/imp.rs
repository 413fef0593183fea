// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

use std::sync::LazyLock;

use gst::glib;
use gst::subclass::prelude::*;
use rtp2_core::g722;

use crate::base::depay::{IncomingPacket, RtpBaseDepay2Ext, RtpBaseDepay2Impl};

#[derive(Default)]
pub struct RtpG722Depay;

#[glib::object_subclass]
impl ObjectSubclass for RtpG722Depay {
    const NAME: &'static str = "GstRtp2G722Depay";
    type Type = super::RtpG722Depay;
    type ParentType = crate::base::depay::RtpBaseDepay2;
}

impl ObjectImpl for RtpG722Depay {}
impl GstObjectImpl for RtpG722Depay {}

impl ElementImpl for RtpG722Depay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "RTP G.722 depayloader",
                "Codec/Depayloader/Network/RTP",
                "Extracts G.722 audio from RTP packets (RFC 3551)",
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
                        .field("clock-rate", g722::CLOCK_RATE as i32)
                        .field("encoding-name", "G722")
                        .build(),
                )
                .structure(
                    gst::Structure::builder("application/x-rtp")
                        .field("media", "audio")
                        .field("payload", i32::from(g722::PAYLOAD_TYPE))
                        .field("clock-rate", gst::IntRange::new(1i32, i32::MAX))
                        .build(),
                )
                .build();
            let src = gst::Caps::builder("audio/G722")
                .field("rate", g722::SAMPLE_RATE as i32)
                .field("channels", 1i32)
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

impl RtpBaseDepay2Impl for RtpG722Depay {
    // As the C depayloader's gst_rtp_drop_non_audio_meta.
    const ALLOWED_META_TAGS: &'static [&'static str] = &["audio"];

    fn set_sink_caps(&self, caps: &gst::Caps) -> bool {
        let channels = caps
            .structure(0)
            .and_then(|s| s.get::<&str>("encoding-params").ok())
            .and_then(|p| p.trim().parse::<i32>().ok())
            .unwrap_or(1);
        if channels != 1 {
            gst::warning!(
                crate::CAT,
                imp = self,
                "Only mono G.722 is supported, got {channels} channels"
            );
            return false;
        }
        // RFC 3551 §4.5.2: the RTP clock says 8000 Hz, the audio is sampled at 16000 Hz.
        let src_caps = gst::Caps::builder("audio/G722")
            .field("rate", g722::SAMPLE_RATE as i32)
            .field("channels", 1i32)
            .build();
        self.obj().set_src_caps(&src_caps)
    }

    fn handle_packet(&self, packet: &IncomingPacket) -> Result<gst::FlowSuccess, gst::FlowError> {
        let len = packet.payload().len();
        if len == 0 {
            self.obj().drop_packet(&"empty G.722 payload");
            return Ok(gst::FlowSuccess::Ok);
        }
        let duration = g722::FRAMING.duration_ns(len);
        self.obj()
            .push_audio_payload(packet, gst::ClockTime::from_nseconds(duration));
        Ok(gst::FlowSuccess::Ok)
    }
}
