// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtph264depay2`: H.264 video out of RTP packets (RFC 6184), a drop-in for
//! `rtph264depay`, adding STAP-B, MTAP and FU-B and the interleaved mode.

mod imp;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    /// The H.264 depayloader element.
    pub struct RtpH264Depay(ObjectSubclass<imp::RtpH264Depay>)
        @extends crate::base::depay::RtpBaseDepay2, gst::Element, gst::Object;
}

/// Registers `rtph264depay2`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "rtph264depay2",
        gst::Rank::MARGINAL,
        RtpH264Depay::static_type(),
    )
}
