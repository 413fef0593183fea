// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! GObject implementation of `rtph265pay2`: properties and pad templates; the payloading
//! itself is the shared [`crate::nalvideo::pay`] logic with H.265's aggregation packets and
//! fragmentation units (RFC 7798 §4.4).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use rtp2_core::nalpack::{AggregateMode as CoreAggregate, PacketizationMode};

use super::AggregateMode;
use crate::basepay::{RtpBasePay2Ext, RtpBasePay2Impl, RtpBasePay2ImplExt};
use crate::h265::H265Codec;
use crate::hdrext::lock;
use crate::nalvideo::pay::{NalPayState, PaySettings, wants_all_headers};

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
    state: Mutex<NalPayState<H265Codec>>,
    /// A force-key-unit event with all-headers arrived (recorded without the state lock).
    force_headers: AtomicBool,
}

#[glib::object_subclass]
impl ObjectSubclass for RtpH265Pay {
    const NAME: &'static str = "GstRtp2H265Pay";
    type Type = super::RtpH265Pay;
    type ParentType = crate::basepay::RtpBasePay2;
}

impl ObjectImpl for RtpH265Pay {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecInt::builder("config-interval")
                    .nick("VPS SPS PPS Send Interval")
                    .blurb(
                        "Send VPS, SPS and PPS Insertion Interval in seconds (sprop parameter \
                         sets will be multiplexed in the data stream when detected.) \
                         (0 = disabled, -1 = send with every IDR frame)",
                    )
                    .minimum(-1)
                    .maximum(3600)
                    .default_value(0)
                    .mutable_playing()
                    .build(),
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
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let sink = gst::Caps::builder_full()
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
            let src = gst::Caps::builder("application/x-rtp")
                .field("media", "video")
                .field("payload", gst::IntRange::new(96i32, 127))
                .field("clock-rate", 90000i32)
                .field("encoding-name", "H265")
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

impl RtpBasePay2Impl for RtpH265Pay {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = NalPayState::default();
        self.force_headers.store(false, Ordering::Relaxed);
        Ok(())
    }

    fn set_sink_caps(&self, caps: &gst::Caps) -> bool {
        let settings = lock(&self.settings).pay_settings();
        let obj = self.obj();
        let base = obj.upcast_ref();
        let mut state = lock(&self.state);
        if !state.set_sink_caps(base, caps) || !obj.set_src_caps(&state.src_caps()) {
            return false;
        }
        state.configure(base, PacketizationMode::NonInterleaved, settings);
        true
    }

    fn handle_buffer(&self, buffer: &gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = lock(&self.settings).pay_settings();
        let obj = self.obj();
        let mut state = lock(&self.state);
        if self.force_headers.swap(false, Ordering::Relaxed) {
            state.force_headers();
        }
        state.configure(
            obj.upcast_ref(),
            PacketizationMode::NonInterleaved,
            settings,
        );
        state.handle_buffer(obj.upcast_ref(), settings, buffer)
    }

    fn drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        lock(&self.state).drain(self.obj().upcast_ref());
        Ok(gst::FlowSuccess::Ok)
    }

    fn flush(&self) {
        lock(&self.state).flush();
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if wants_all_headers(&event) {
            self.force_headers.store(true, Ordering::Relaxed);
        }
        self.parent_sink_event(event)
    }

    fn src_event(&self, event: gst::Event) -> bool {
        if wants_all_headers(&event) {
            self.force_headers.store(true, Ordering::Relaxed);
        }
        self.parent_src_event(event)
    }
}
