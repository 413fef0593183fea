// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtph265pay2`: H.265 video into RTP packets (RFC 7798), a drop-in for `rtph265pay`.

mod imp;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    /// The H.265 payloader element.
    pub struct RtpH265Pay(ObjectSubclass<imp::RtpH265Pay>)
        @extends crate::base::pay::RtpBasePay2, gst::Element, gst::Object;
}

/// `aggregate-mode`: when NAL units are bundled into aggregation packets (same nicks as the C
/// `rtph265pay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, glib::Enum)]
#[repr(i32)]
#[enum_type(name = "GstRtp2H265PayAggregateMode")]
#[non_exhaustive]
pub enum AggregateMode {
    /// Never aggregate.
    #[default]
    #[enum_value(name = "Do not aggregate NAL units", nick = "none")]
    None = 0,
    /// Aggregate until a coded slice is included, adding no latency.
    #[enum_value(
        name = "Aggregate NAL units until a VCL or suffix unit is included",
        nick = "zero-latency"
    )]
    ZeroLatency = 1,
    /// Aggregate all NAL units of an access unit that fit.
    #[enum_value(
        name = "Aggregate all NAL units with the same timestamp (adds one frame of latency)",
        nick = "max"
    )]
    Max = 2,
}

/// Registers `rtph265pay2`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "rtph265pay2",
        gst::Rank::MARGINAL,
        RtpH265Pay::static_type(),
    )
}
