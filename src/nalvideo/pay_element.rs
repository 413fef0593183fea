// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The element side of `rtph264pay2` and `rtph265pay2`: pad templates, the virtual methods
//! and the shared properties, around [`super::pay::NalPayState`] behind a lock.

use std::sync::atomic::Ordering;

use gst::glib;
use gst::prelude::*;
use rtp2_core::nalpack::PacketizationMode;

use super::NalCodec;
use super::pay::{NalPayState, PaySettings, wants_all_headers};
use crate::base::extensions::lock;
use crate::base::pay::{RtpBasePay2, RtpBasePay2Ext};
/// A NAL video payloader element's data and the plumbing `rtph264pay2` and `rtph265pay2`
/// share (pad templates, virtual methods); the elements keep their own properties.
pub struct NalPayElement<C: NalCodec> {
    state: std::sync::Mutex<NalPayState<C>>,
    /// A force-key-unit event with all-headers arrived (recorded without the state lock).
    force_headers: std::sync::atomic::AtomicBool,
}

impl<C: NalCodec> Default for NalPayElement<C> {
    fn default() -> Self {
        NalPayElement {
            state: Default::default(),
            force_headers: Default::default(),
        }
    }
}

impl<C: NalCodec> NalPayElement<C> {
    /// Sink: length-prefixed (au) or byte-stream (au or nal); source: RTP of the codec.
    pub fn pad_templates() -> Vec<gst::PadTemplate> {
        let sink = gst::Caps::builder_full()
            .structure(
                gst::Structure::builder(C::MEDIA_TYPE)
                    .field(
                        "stream-format",
                        gst::List::new(C::LENGTH_PREFIXED.iter().copied()),
                    )
                    .field("alignment", "au")
                    .build(),
            )
            .structure(
                gst::Structure::builder(C::MEDIA_TYPE)
                    .field("stream-format", "byte-stream")
                    .field("alignment", gst::List::new(["nal", "au"]))
                    .build(),
            )
            .build();
        let src = gst::Caps::builder("application/x-rtp")
            .field("media", "video")
            .field("payload", gst::IntRange::new(96i32, 127))
            .field("clock-rate", 90000i32)
            .field("encoding-name", C::ENCODING_NAME)
            .build();
        super::depay::templates(&sink, &src)
    }

    /// `start`: fresh state.
    pub fn start(&self) {
        *lock(&self.state) = NalPayState::default();
        self.force_headers.store(false, Ordering::Relaxed);
    }

    /// `set_sink_caps`: input format, then RTP caps with `fields` (element-specific), then
    /// the packetizer for `mode`.
    pub fn set_sink_caps(
        &self,
        obj: &RtpBasePay2,
        caps: &gst::Caps,
        mode: PacketizationMode,
        settings: PaySettings,
        fields: Option<gst::Structure>,
    ) -> bool {
        let src_caps = {
            let mut state = lock(&self.state);
            state.caps_fields = fields;
            if !state.set_sink_caps(obj, caps) {
                return false;
            }
            state.src_caps()
        };
        // Without the state lock: negotiation may emit `request-extension`, whose handler
        // may use this element.
        if !obj.set_src_caps(&src_caps) {
            return false;
        }
        lock(&self.state).configure(obj, mode, settings);
        true
    }

    /// `handle_buffer` with the current settings (a new MTU or aggregate mode applies).
    pub fn handle_buffer(
        &self,
        obj: &RtpBasePay2,
        settings: PaySettings,
        buffer: &gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let mut state = lock(&self.state);
        if self.force_headers.swap(false, Ordering::Relaxed) {
            state.force_headers();
        }
        let mode = state.mode();
        state.configure(obj, mode, settings);
        let res = state.handle_buffer(obj, settings, buffer);
        let dropped = state.take_dropped();
        let new_caps = state.new_caps.take();
        let error = state.error.take();
        drop(state);
        // Caps, warnings and errors after the lock (lock rule); the packets of this buffer
        // are pushed by the base class after this returns, so they follow the new caps.
        if let Some(caps) = new_caps {
            obj.set_src_caps(&caps);
        }
        for reason in dropped {
            obj.drop_invalid_input(&reason);
        }
        if let Some(err) = error {
            gst::element_error!(obj, gst::StreamError::Encode, ["{err}"]);
        }
        res
    }

    /// `drain`.
    pub fn drain(&self, obj: &RtpBasePay2) {
        lock(&self.state).drain(obj);
    }

    /// `flush`.
    pub fn flush(&self) {
        lock(&self.state).flush();
    }

    /// Notes a force-key-unit event with all-headers (either direction).
    pub fn note_event(&self, event: &gst::Event) {
        if wants_all_headers(event) {
            self.force_headers.store(true, Ordering::Relaxed);
        }
    }
}

/// `config-interval`, with the C elements' nick and blurb for this codec's parameter sets.
pub fn config_interval_property(nick: &str, sets: &str) -> glib::ParamSpec {
    glib::ParamSpecInt::builder("config-interval")
        .nick(nick)
        .blurb(&format!(
            "Send {sets} Insertion Interval in seconds (sprop parameter sets will be \
             multiplexed in the data stream when detected.) \
             (0 = disabled, -1 = send with every IDR frame)"
        ))
        .minimum(-1)
        .maximum(3600)
        .default_value(0)
        .mutable_playing()
        .build()
}
