// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

use std::sync::LazyLock;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::g722;

use crate::base::audiopay::{RtpBaseAudioPay2Ext, RtpBaseAudioPay2Impl};
use crate::base::pay::{RtpBasePay2Ext, RtpBasePay2Impl};

#[derive(Default)]
pub struct RtpG722Pay;

#[glib::object_subclass]
impl ObjectSubclass for RtpG722Pay {
    const NAME: &'static str = "GstRtp2G722Pay";
    type Type = super::RtpG722Pay;
    type ParentType = crate::base::audiopay::RtpBaseAudioPay2;
}

impl ObjectImpl for RtpG722Pay {
    fn constructed(&self) {
        self.parent_constructed();
        // The static payload type of G.722 (RFC 3551 §6, table 4).
        self.obj().set_property("pt", u32::from(g722::PAYLOAD_TYPE));
    }
}

impl GstObjectImpl for RtpG722Pay {}

impl ElementImpl for RtpG722Pay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "RTP G.722 payloader",
                "Codec/Payloader/Network/RTP",
                "Payload-encodes G.722 audio into RTP packets (RFC 3551)",
                "gst-plugin-rtp2 developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let sink = gst::Caps::builder("audio/G722")
                .field("rate", g722::SAMPLE_RATE as i32)
                .field("channels", 1i32)
                .build();
            let src = gst::Caps::builder_full()
                .structure(
                    gst::Structure::builder("application/x-rtp")
                        .field("media", "audio")
                        .field("encoding-name", "G722")
                        .field("payload", i32::from(g722::PAYLOAD_TYPE))
                        .field("encoding-params", "1")
                        .field("clock-rate", g722::CLOCK_RATE as i32)
                        .build(),
                )
                .structure(
                    gst::Structure::builder("application/x-rtp")
                        .field("media", "audio")
                        .field("encoding-name", "G722")
                        .field("payload", gst::IntRange::new(96i32, 127))
                        .field("encoding-params", "1")
                        .field("clock-rate", g722::CLOCK_RATE as i32)
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

impl RtpBasePay2Impl for RtpG722Pay {
    /// Metas tagged "audio" (or untagged) are copied to the packets, as in C.
    const ALLOWED_META_TAGS: &'static [&'static str] = &["audio"];

    fn set_sink_caps(&self, caps: &gst::Caps) -> bool {
        let Some(s) = caps.structure(0) else {
            return false;
        };
        if s.get::<i32>("rate").ok() != Some(g722::SAMPLE_RATE as i32)
            || s.get::<i32>("channels").ok() != Some(1)
        {
            gst::warning!(crate::CAT, imp = self, "Unsupported G.722 caps {caps}");
            return false;
        }
        let obj = self.obj();
        obj.set_framing(g722::FRAMING);
        let src_caps = gst::Caps::builder("application/x-rtp")
            .field("media", "audio")
            .field("clock-rate", g722::CLOCK_RATE as i32)
            .field("encoding-name", "G722")
            .field("encoding-params", "1")
            .build();
        obj.set_src_caps(&src_caps)
    }
}

impl RtpBaseAudioPay2Impl for RtpG722Pay {}
