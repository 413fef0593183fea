// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtpulpfecenc2`: ULPFEC (RFC 5109) FEC packets inside the media stream, a drop-in for
//! `rtpulpfecenc`, with a choice of masks (`mask-type`).

mod imp;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    /// The ULPFEC encoder element.
    pub struct RtpUlpFecEnc(ObjectSubclass<imp::RtpUlpFecEnc>)
        @extends crate::base::filter::RtpBaseFilter2, gst::Element, gst::Object;
}

/// How a frame's packets are spread over its FEC packets (property `mask-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, glib::Enum)]
#[repr(i32)]
#[enum_type(name = "GstRtp2UlpFecMaskType")]
#[non_exhaustive]
pub enum MaskType {
    /// Each FEC packet protects a contiguous slice of the frame (what `rtpulpfecenc` does).
    #[enum_value(name = "Contiguous slices, as rtpulpfecenc", nick = "contiguous")]
    Contiguous = 0,
    /// FEC packet j protects packets j, j + k, j + 2k, …: bursts of up to k losses are
    /// recoverable.
    #[enum_value(
        name = "Interleaved: bursts up to the FEC count recoverable",
        nick = "interleaved"
    )]
    Interleaved = 1,
    /// libwebrtc's masks for random loss (its table up to 12 packets, interleaved above).
    #[enum_value(name = "libwebrtc's random-loss masks", nick = "random")]
    Random = 2,
    /// libwebrtc's masks for bursty loss (its table up to 12 packets, interleaved above):
    /// bursts of up to k losses recoverable, and overlapping protection for isolated ones.
    #[default]
    #[enum_value(name = "libwebrtc's bursty-loss masks", nick = "bursty")]
    Bursty = 3,
}

/// Registers `rtpulpfecenc2`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "rtpulpfecenc2",
        gst::Rank::NONE,
        RtpUlpFecEnc::static_type(),
    )
}
