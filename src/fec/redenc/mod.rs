// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtpredenc2`: RED (RFC 2198) encoder: wraps each packet in a RED packet with up to `redundant-blocks` earlier packets, a drop-in for `rtpredenc`.

mod imp;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    /// The element.
    pub struct RtpRedEnc(ObjectSubclass<imp::RtpRedEnc>)
        @extends crate::base::filter::RtpBaseFilter2, gst::Element, gst::Object;
}

/// Registers `rtpredenc2`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "rtpredenc2",
        gst::Rank::NONE,
        RtpRedEnc::static_type(),
    )
}
