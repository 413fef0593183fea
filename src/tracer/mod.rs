// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The `rtp-metrics` tracer: RTP metrics of every pipeline in the process, served to
//! Prometheus on `/metrics` (`GST_TRACERS="rtp-metrics(port=9464)"`). See docs/telemetry.md
//! for every metric, its unit and the RFC section it follows.

use gst::glib;
use gst::prelude::*;

mod elements;
pub(crate) mod handoff;
mod hooks;
mod imp;
mod keyframe;
mod latency;
mod metrics;
#[cfg(feature = "otlp")]
mod otlp;
#[cfg(feature = "otlp")]
mod otlp_convert;
mod packet;
mod pad;
mod recent;
mod rtpbin2;
mod sequence;
mod server;
mod stream_set;
mod streams;
mod timing;

glib::wrapper! {
    /// The `rtp-metrics` tracer object. Its parameters are its properties: `address`,
    /// `port`, `max-streams`; `bound-port` tells the port actually listened on.
    pub struct RtpMetricsTracer(ObjectSubclass<imp::RtpMetricsTracer>) @extends gst::Tracer, gst::Object;
}

/// Registers the `rtp-metrics` tracer with `plugin`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Tracer::register(Some(plugin), "rtp-metrics", RtpMetricsTracer::static_type())
}
