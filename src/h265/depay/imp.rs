// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! GObject implementation of `rtph265depay2`: properties and pad templates; the
//! depayloading itself is the shared [`crate::nalvideo::depay`] logic with H.265's
//! parameter sets and packet types.

use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use crate::basedepay::{IncomingPacket, KeyframePolicy, RtpBaseDepay2Ext, RtpBaseDepay2Impl};
use crate::h265::H265Codec;
use crate::hdrext::lock;
use crate::nalvideo::depay::NalDepayState;

#[derive(Default)]
pub struct RtpH265Depay {
    settings: Mutex<KeyframePolicy>,
    state: Mutex<NalDepayState<H265Codec>>,
}

#[glib::object_subclass]
impl ObjectSubclass for RtpH265Depay {
    const NAME: &'static str = "GstRtp2H265Depay";
    type Type = super::RtpH265Depay;
    type ParentType = crate::basedepay::RtpBaseDepay2;
}

impl ObjectImpl for RtpH265Depay {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecBoolean::builder("request-keyframe")
                    .nick("Request Keyframe")
                    .blurb("Request new keyframe when packet loss is detected")
                    .default_value(false)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("wait-for-keyframe")
                    .nick("Wait For Keyframe")
                    .blurb(
                        "Wait for the next keyframe after packet loss, \
                         meaningful only when outputting access units",
                    )
                    .default_value(false)
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = lock(&self.settings);
        match pspec.name() {
            "request-keyframe" => settings.request_keyframe = value.get().unwrap_or(false),
            "wait-for-keyframe" => settings.wait_for_keyframe = value.get().unwrap_or(false),
            other => gst::warning!(crate::CAT, imp = self, "No writable property {other}"),
        }
        let mut state = lock(&self.state);
        state.policy.request_keyframe = settings.request_keyframe;
        state.policy.wait_for_keyframe = settings.wait_for_keyframe;
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = lock(&self.settings);
        match pspec.name() {
            "request-keyframe" => settings.request_keyframe.to_value(),
            "wait-for-keyframe" => settings.wait_for_keyframe.to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for RtpH265Depay {}

impl ElementImpl for RtpH265Depay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "RTP H265 depayloader",
                "Codec/Depayloader/Network/RTP",
                "Extracts H265 video from RTP packets (RFC 7798)",
                "gst-plugin-rtp2 developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let sink = gst::Caps::builder("application/x-rtp")
                .field("media", "video")
                .field("clock-rate", 90000i32)
                .field("encoding-name", "H265")
                .build();
            let src = gst::Caps::builder_full()
                .structure(
                    gst::Structure::builder("video/x-h265")
                        .field("stream-format", gst::List::new(["hvc1", "hev1"]))
                        .field("alignment", "au")
                        .build(),
                )
                .structure(
                    gst::Structure::builder("video/x-h265")
                        .field("stream-format", "byte-stream")
                        .field("alignment", gst::List::new(["nal", "au"]))
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

impl RtpBaseDepay2Impl for RtpH265Depay {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let policy = *lock(&self.settings);
        let mut state = lock(&self.state);
        *state = NalDepayState::default();
        state.policy = policy;
        Ok(())
    }

    fn set_sink_caps(&self, caps: &gst::Caps) -> bool {
        lock(&self.state).set_sink_caps(self.obj().upcast_ref(), caps)
    }

    fn handle_packet(&self, packet: &IncomingPacket) -> Result<gst::FlowSuccess, gst::FlowError> {
        let request = lock(&self.state).handle_packet(self.obj().upcast_ref(), packet);
        if request {
            self.obj().request_keyframe();
        }
        Ok(gst::FlowSuccess::Ok)
    }

    fn drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        lock(&self.state).drain(self.obj().upcast_ref());
        Ok(gst::FlowSuccess::Ok)
    }

    fn flush(&self) {
        lock(&self.state).flush();
    }
}
