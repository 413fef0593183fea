// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtpg722pay2`: G.722 audio into RTP packets (RFC 3551 §4.5.2), a drop-in for `rtpg722pay`.

mod imp;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    /// The G.722 payloader element.
    pub struct RtpG722Pay(ObjectSubclass<imp::RtpG722Pay>)
        @extends crate::base::audiopay::RtpBaseAudioPay2, crate::base::pay::RtpBasePay2,
            gst::Element, gst::Object;
}

/// Registers `rtpg722pay2`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "rtpg722pay2",
        gst::Rank::MARGINAL,
        RtpG722Pay::static_type(),
    )
}
