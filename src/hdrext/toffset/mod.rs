// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtphdrexttoffset`: transmission time offset (RFC 5450). The offset between capture and
//! sending is known only to whoever paces the packets, so the element writes the value an
//! application puts in the `rtphdrexttoffset` custom meta (field `offset`, gint, RTP ticks)
//! and reads into the same meta.

use rtp2_core::hdrext::toffset::TransmissionOffset;

use super::ExtensionBehaviour;

/// No state: the value comes from the meta.
#[derive(Default)]
pub struct Toffset;

impl ExtensionBehaviour for Toffset {
    type Format = TransmissionOffset;
    const FACTORY: &'static str = "rtphdrexttoffset";
    const LONG_NAME: &'static str = "RTP transmission time offset header extension";
    const DESCRIPTION: &'static str = "Transmission time offset (RFC 5450) from/to a custom meta";
    // Read on every packet: no lock per read.
    const USES_ON_READ: bool = false;

    fn from_fields(s: &gst::StructureRef) -> Option<TransmissionOffset> {
        s.get::<i32>("offset").ok().map(TransmissionOffset)
    }

    fn to_fields(value: &TransmissionOffset, s: &mut gst::StructureRef) {
        s.set("offset", value.0);
    }
}

crate::rtp_header_extension!(
    element,
    RtpHdrExtToffset,
    "GstRtp2HdrExtToffset",
    crate::hdrext::toffset::Toffset
);
