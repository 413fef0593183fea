// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtpreddec2`: RED (RFC 2198) decoder: unwraps the primary block, and redundant blocks that stand exactly for lost packets, a drop-in for `rtpreddec`.

mod imp;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    /// The element.
    pub struct RtpRedDec(ObjectSubclass<imp::RtpRedDec>)
        @extends crate::base::filter::RtpBaseFilter2, gst::Element, gst::Object;
}

/// Registers `rtpreddec2`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "rtpreddec2",
        gst::Rank::NONE,
        RtpRedDec::static_type(),
    )
}
