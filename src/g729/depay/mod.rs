// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtpg729depay2`: G.729 audio out of RTP packets (RFC 3551 §4.5.2), a drop-in for
//! `rtpg729depay`.

mod imp;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    /// The G.729 depayloader element.
    pub struct RtpG729Depay(ObjectSubclass<imp::RtpG729Depay>)
        @extends crate::base::depay::RtpBaseDepay2, gst::Element, gst::Object;
}

/// Registers `rtpg729depay2`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "rtpg729depay2",
        gst::Rank::MARGINAL,
        RtpG729Depay::static_type(),
    )
}
