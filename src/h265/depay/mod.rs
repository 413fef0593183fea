// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtph265depay2`: H.265 video out of RTP packets (RFC 7798), a drop-in for
//! `rtph265depay`, adding decoding order from DONL/DOND, PACI packets, `request-keyframe`
//! and `wait-for-keyframe`.

mod imp;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    /// The H.265 depayloader element.
    pub struct RtpH265Depay(ObjectSubclass<imp::RtpH265Depay>)
        @extends crate::base::depay::RtpBaseDepay2, gst::Element, gst::Object;
}

/// Registers `rtph265depay2`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "rtph265depay2",
        gst::Rank::MARGINAL,
        RtpH265Depay::static_type(),
    )
}
