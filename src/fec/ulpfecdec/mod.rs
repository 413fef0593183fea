// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtpulpfecdec2`: recovers media packets from ULPFEC (RFC 5109) packets carried inside the
//! media stream, a drop-in for `rtpulpfecdec` that needs neither `rtpstorage` nor a
//! jitterbuffer's loss events: it keeps its own bounded packet store per SSRC.

mod imp;
mod peers;
mod ssrc;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    /// The ULPFEC decoder element.
    pub struct RtpUlpFecDec(ObjectSubclass<imp::RtpUlpFecDec>)
        @extends crate::base::filter::RtpBaseFilter2, gst::Element, gst::Object;
}

/// Registers `rtpulpfecdec2`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "rtpulpfecdec2",
        gst::Rank::NONE,
        RtpUlpFecDec::static_type(),
    )
}
