// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtpg729pay2`: G.729 audio into RTP packets (RFC 3551 §4.5.6), a drop-in for `rtpg729pay`.

mod imp;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    /// The G.729 payloader element.
    pub struct RtpG729Pay(ObjectSubclass<imp::RtpG729Pay>)
        @extends crate::base::audiopay::RtpBaseAudioPay2, crate::base::pay::RtpBasePay2,
            gst::Element, gst::Object;
}

/// Registers `rtpg729pay2`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "rtpg729pay2",
        gst::Rank::MARGINAL,
        RtpG729Pay::static_type(),
    )
}
