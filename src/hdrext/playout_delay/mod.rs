// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtphdrextplayoutdelay`: playout delay limits. The `min-delay` and `max-delay`
//! properties (ms, 10 ms steps on the wire, ≤ 40.95 s) are sent on every packet until a key
//! frame (an input without `DELTA_UNIT`) has been sent with them, as libwebrtc does, and
//! again after they change. On receipt they go into the `rtphdrextplayoutdelay` custom meta
//! (fields `min-delay`, `max-delay`, guint ms) and the same properties, so an application
//! can set `rtpjitterbuffer latency` (or webrtcbin's `latency`) to `min-delay` on change.

use gst::glib;
use gst::prelude::*;
use rtp2_core::hdrext::playout_delay::{MAX_UNITS, PlayoutDelay};

use super::ExtensionBehaviour;

/// The limits and the key frame (by PTS) that carries them, once one did.
#[derive(Default)]
pub struct Delay {
    delay: PlayoutDelay,
    key_frame: Option<Option<gst::ClockTime>>,
}

impl ExtensionBehaviour for Delay {
    type Format = PlayoutDelay;
    const FACTORY: &'static str = "rtphdrextplayoutdelay";
    const LONG_NAME: &'static str = "RTP playout delay header extension";
    const DESCRIPTION: &'static str =
        "Asks the receiver for a playout delay range (webrtc.org playout-delay)";

    fn properties() -> Vec<glib::ParamSpec> {
        let max = u32::from(MAX_UNITS) * 10;
        ["min-delay", "max-delay"]
            .into_iter()
            .map(|name| {
                glib::ParamSpecUInt::builder(name)
                    .nick(name)
                    .blurb("Delay limit in ms to send (10 ms steps); the last one received")
                    .maximum(max)
                    .build()
            })
            .collect()
    }

    fn set_property(&mut self, name: &str, value: &glib::Value) {
        let ms = value.get::<u32>().unwrap_or(0);
        let units = PlayoutDelay::from_ms(ms, ms).min;
        if name == "min-delay" {
            self.delay.min = units;
            self.delay.max = self.delay.max.max(units);
        } else {
            self.delay.max = units;
            self.delay.min = self.delay.min.min(units);
        }
        self.key_frame = None;
    }

    fn property(&self, name: &str) -> glib::Value {
        if name == "min-delay" {
            self.delay.min_ms()
        } else {
            self.delay.max_ms()
        }
        .to_value()
    }

    fn value_to_write(
        &mut self,
        input: &gst::BufferRef,
        from_meta: Option<PlayoutDelay>,
        _marker: Option<bool>,
    ) -> Option<PlayoutDelay> {
        if let Some(d) = from_meta {
            return Some(d);
        }
        // Every packet of the first key frame carries it, no packet after.
        match self.key_frame {
            Some(pts) if pts != input.pts() => None,
            Some(_) => Some(self.delay),
            None => {
                if !input.flags().contains(gst::BufferFlags::DELTA_UNIT) {
                    self.key_frame = Some(input.pts());
                }
                Some(self.delay)
            }
        }
    }

    fn from_fields(s: &gst::StructureRef) -> Option<PlayoutDelay> {
        let d = PlayoutDelay::from_ms(
            s.get::<u32>("min-delay").ok()?,
            s.get::<u32>("max-delay").ok()?,
        );
        (d.min <= d.max).then_some(d)
    }

    fn to_fields(value: &PlayoutDelay, s: &mut gst::StructureRef) {
        s.set("min-delay", value.min_ms());
        s.set("max-delay", value.max_ms());
    }

    fn on_read(&mut self, value: &PlayoutDelay, _output: &mut gst::BufferRef) {
        self.delay = *value;
    }
}

crate::rtp_header_extension!(
    element,
    RtpHdrExtPlayoutDelay,
    "GstRtp2HdrExtPlayoutDelay",
    crate::hdrext::playout_delay::Delay
);
