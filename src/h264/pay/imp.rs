// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! GObject implementation of `rtph264pay2`: properties, pad templates and the RFC 6184
//! specifics (packetization-mode negotiation, `sprop-parameter-sets` override); the
//! payloading itself is the shared [`crate::nalvideo::pay`] logic.

use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::nalpack::{AggregateMode as CoreAggregate, PacketizationMode};

use super::AggregateMode;
use crate::base::extensions::lock;
use crate::base::pay::{RtpBasePay2Ext, RtpBasePay2Impl, RtpBasePay2ImplExt};
use crate::h264::H264Codec;
use crate::nalvideo::encoder_caps::{answer_caps_query, h264_constraints};
use crate::nalvideo::pay::{NalPayElement, PaySettings, config_interval_property};

#[derive(Debug, Clone, Default)]
struct Settings {
    config_interval: i32,
    aggregate_mode: AggregateMode,
    sprop_parameter_sets: Option<String>,
}

impl Settings {
    fn pay_settings(&self) -> PaySettings {
        PaySettings {
            config_interval: self.config_interval,
            aggregate: match self.aggregate_mode {
                AggregateMode::None => CoreAggregate::None,
                AggregateMode::ZeroLatency => CoreAggregate::ZeroLatency,
                AggregateMode::MaxStap => CoreAggregate::MaxStap,
            },
        }
    }
}

#[derive(Default)]
pub struct RtpH264Pay {
    settings: Mutex<Settings>,
    inner: NalPayElement<H264Codec>,
}

impl RtpH264Pay {
    /// Packetization mode 0 when downstream caps ask for it (RFC 6184 §8.1).
    fn negotiated_mode(&self) -> PacketizationMode {
        let peer = self.obj().src_pad().peer_query_caps(None);
        let wants_single = peer
            .structure(0)
            .and_then(|s| s.get::<&str>("packetization-mode").ok())
            .is_some_and(|m| m.trim() == "0");
        if wants_single {
            PacketizationMode::SingleNal
        } else {
            PacketizationMode::NonInterleaved
        }
    }

    /// RTP caps fields of this element: the mode and an overriding sprop-parameter-sets.
    fn caps_fields(&self, mode: PacketizationMode) -> gst::Structure {
        let single = mode == PacketizationMode::SingleNal;
        let mut fields = gst::Structure::builder("fields")
            .field("packetization-mode", if single { "0" } else { "1" })
            .build();
        if let Some(sprop) = lock(&self.settings).sprop_parameter_sets.clone() {
            fields.set("sprop-parameter-sets", sprop);
        }
        fields
    }
}

#[glib::object_subclass]
impl ObjectSubclass for RtpH264Pay {
    const NAME: &'static str = "GstRtp2H264Pay";
    type Type = super::RtpH264Pay;
    type ParentType = crate::base::pay::RtpBasePay2;
}

impl ObjectImpl for RtpH264Pay {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                config_interval_property("SPS PPS Send Interval", "SPS and PPS"),
                glib::ParamSpecEnum::builder::<AggregateMode>("aggregate-mode")
                    .nick("Attempt to use aggregate packets")
                    .blurb("Bundle suitable SPS/PPS NAL units into STAP-A aggregate packets")
                    .default_value(AggregateMode::None)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("sprop-parameter-sets")
                    .nick("sprop-parameter-sets")
                    .blurb(
                        "The base64 sprop-parameter-sets to set in out caps \
                         (set to NULL to extract from stream)",
                    )
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = lock(&self.settings);
        match pspec.name() {
            "config-interval" => settings.config_interval = value.get().unwrap_or(0),
            "aggregate-mode" => settings.aggregate_mode = value.get().unwrap_or_default(),
            "sprop-parameter-sets" => settings.sprop_parameter_sets = value.get().ok().flatten(),
            other => gst::warning!(crate::CAT, imp = self, "No writable property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = lock(&self.settings);
        match pspec.name() {
            "config-interval" => settings.config_interval.to_value(),
            "aggregate-mode" => settings.aggregate_mode.to_value(),
            "sprop-parameter-sets" => settings.sprop_parameter_sets.to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for RtpH264Pay {}

impl ElementImpl for RtpH264Pay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "RTP H264 payloader",
                "Codec/Payloader/Network/RTP",
                "Payload-encode H264 video into RTP packets (RFC 6184)",
                "gst-plugin-rtp2 developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(NalPayElement::<H264Codec>::pad_templates);
        TEMPLATES.as_ref()
    }
}

impl RtpBasePay2Impl for RtpH264Pay {
    /// Metas tagged "video" (or untagged) are copied to the packets, as in C.
    const ALLOWED_META_TAGS: &'static [&'static str] = &["video"];

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        self.inner.start();
        Ok(())
    }

    fn set_sink_caps(&self, caps: &gst::Caps) -> bool {
        let mode = self.negotiated_mode();
        let fields = self.caps_fields(mode);
        let settings = lock(&self.settings).pay_settings();
        self.inner
            .set_sink_caps(self.obj().upcast_ref(), caps, mode, settings, Some(fields))
    }

    fn handle_buffer(&self, buffer: &gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = lock(&self.settings).pay_settings();
        self.inner
            .handle_buffer(self.obj().upcast_ref(), settings, buffer)
    }

    fn drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.inner.drain(self.obj().upcast_ref());
        Ok(gst::FlowSuccess::Ok)
    }

    fn flush(&self) {
        self.inner.flush();
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        self.inner.note_event(&event);
        self.parent_sink_event(event)
    }

    fn src_event(&self, event: gst::Event) -> bool {
        self.inner.note_event(&event);
        self.parent_src_event(event)
    }

    /// Downstream's profile and level constraints, for the encoder upstream.
    fn sink_query(&self, query: &mut gst::QueryRef) -> bool {
        answer_caps_query(self.obj().upcast_ref(), query, h264_constraints)
            || self.parent_sink_query(query)
    }
}
