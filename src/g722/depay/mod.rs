// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtpg722depay2`: G.722 audio out of RTP packets (RFC 3551 §4.5.2), a drop-in for
//! `rtpg722depay`.

mod imp;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    /// The G.722 depayloader element.
    pub struct RtpG722Depay(ObjectSubclass<imp::RtpG722Depay>)
        @extends crate::base::depay::RtpBaseDepay2, gst::Element, gst::Object;
}

/// Registers `rtpg722depay2`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "rtpg722depay2",
        gst::Rank::MARGINAL,
        RtpG722Depay::static_type(),
    )
}
