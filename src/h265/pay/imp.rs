// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! GObject implementation of `rtph265pay2`: properties and pad templates; the payloading
//! itself is the shared [`crate::nalvideo::pay`] logic with H.265's aggregation packets and
//! fragmentation units (RFC 7798 §4.4).

use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::nalpack::{AggregateMode as CoreAggregate, PacketizationMode};

use super::AggregateMode;
use crate::base::extensions::lock;
use crate::base::pay::{RtpBasePay2Impl, RtpBasePay2ImplExt};
use crate::h265::H265Codec;
use crate::nalvideo::encoder_caps::{answer_caps_query, h265_constraints};
use crate::nalvideo::pay::{NalPayElement, PaySettings, config_interval_property};

#[derive(Debug, Clone, Copy, Default)]
struct Settings {
    config_interval: i32,
    aggregate_mode: AggregateMode,
}

impl Settings {
    fn pay_settings(self) -> PaySettings {
        PaySettings {
            config_interval: self.config_interval,
            aggregate: match self.aggregate_mode {
                AggregateMode::None => CoreAggregate::None,
                AggregateMode::ZeroLatency => CoreAggregate::ZeroLatency,
                AggregateMode::Max => CoreAggregate::MaxStap,
            },
        }
    }
}

#[derive(Default)]
pub struct RtpH265Pay {
    settings: Mutex<Settings>,
    inner: NalPayElement<H265Codec>,
}

#[glib::object_subclass]
impl ObjectSubclass for RtpH265Pay {
    const NAME: &'static str = "GstRtp2H265Pay";
    type Type = super::RtpH265Pay;
    type ParentType = crate::base::pay::RtpBasePay2;
}

impl ObjectImpl for RtpH265Pay {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                config_interval_property("VPS SPS PPS Send Interval", "VPS, SPS and PPS"),
                glib::ParamSpecEnum::builder::<AggregateMode>("aggregate-mode")
                    .nick("Attempt to use aggregate packets")
                    .blurb("Bundle suitable SPS/PPS NAL units into aggregate packets.")
                    .default_value(AggregateMode::None)
                    .mutable_playing()
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
            other => gst::warning!(crate::CAT, imp = self, "No writable property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = lock(&self.settings);
        match pspec.name() {
            "config-interval" => settings.config_interval.to_value(),
            "aggregate-mode" => settings.aggregate_mode.to_value(),
            _ => glib::Value::from_type(pspec.value_type()),
        }
    }
}

impl GstObjectImpl for RtpH265Pay {}

impl ElementImpl for RtpH265Pay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "RTP H265 payloader",
                "Codec/Payloader/Network/RTP",
                "Payload-encode H265 video into RTP packets (RFC 7798)",
                "gst-plugin-rtp2 developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(NalPayElement::<H265Codec>::pad_templates);
        TEMPLATES.as_ref()
    }
}

impl RtpBasePay2Impl for RtpH265Pay {
    /// Metas tagged "video" (or untagged) are copied to the packets, as in C.
    const ALLOWED_META_TAGS: &'static [&'static str] = &["video"];

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        self.inner.start();
        Ok(())
    }

    fn set_sink_caps(&self, caps: &gst::Caps) -> bool {
        let settings = lock(&self.settings).pay_settings();
        let mode = PacketizationMode::NonInterleaved;
        self.inner
            .set_sink_caps(self.obj().upcast_ref(), caps, mode, settings, None)
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
        answer_caps_query(self.obj().upcast_ref(), query, h265_constraints)
            || self.parent_sink_query(query)
    }
}
