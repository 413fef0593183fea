// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtph264pay2`: H.264 video into RTP packets (RFC 6184), a drop-in for `rtph264pay`.

mod imp;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    /// The H.264 payloader element.
    pub struct RtpH264Pay(ObjectSubclass<imp::RtpH264Pay>)
        @extends crate::base::pay::RtpBasePay2, gst::Element, gst::Object;
}

/// `aggregate-mode`: when NAL units are bundled into STAP-A packets (same nicks as the C
/// `rtph264pay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, glib::Enum)]
#[repr(i32)]
#[enum_type(name = "GstRtp2H264PayAggregateMode")]
#[non_exhaustive]
pub enum AggregateMode {
    /// Never aggregate.
    #[default]
    #[enum_value(name = "Do not aggregate NAL units", nick = "none")]
    None = 0,
    /// Aggregate until a coded slice is included, adding no latency.
    #[enum_value(
        name = "Aggregate NAL units until a VCL unit is included",
        nick = "zero-latency"
    )]
    ZeroLatency = 1,
    /// Aggregate all NAL units of an access unit that fit.
    #[enum_value(
        name = "Aggregate all NAL units with the same timestamp (adds one frame of latency)",
        nick = "max-stap"
    )]
    MaxStap = 2,
}

/// Registers `rtph264pay2`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "rtph264pay2",
        gst::Rank::MARGINAL,
        RtpH264Pay::static_type(),
    )
}
