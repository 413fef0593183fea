// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtpflexfecdec2`: recovers media packets from FlexFEC repair packets (flexfec-03 or RFC
//! 8627) arriving on the same pad with the media, on an SSRC of their own. See docs/fec.md.

mod imp;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    /// The FlexFEC decoder element.
    pub struct RtpFlexFecDec(ObjectSubclass<imp::RtpFlexFecDec>)
        @extends crate::base::filter::RtpBaseFilter2, gst::Element, gst::Object;
}

/// Registers `rtpflexfecdec2`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "rtpflexfecdec2",
        gst::Rank::NONE,
        RtpFlexFecDec::static_type(),
    )
}
