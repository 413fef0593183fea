// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtpflexfecenc2`: FlexFEC repair packets (flexfec-03 as libwebrtc sends it, or RFC 8627)
//! on an SSRC, payload type and sequence numbers of their own, leaving on the one `src` pad
//! with the media, which passes untouched. See docs/fec.md.

mod imp;

use gst::glib;
use gst::prelude::*;

glib::wrapper! {
    /// The FlexFEC encoder element.
    pub struct RtpFlexFecEnc(ObjectSubclass<imp::RtpFlexFecEnc>)
        @extends crate::base::filter::RtpBaseFilter2, gst::Element, gst::Object;
}

/// The wire format of the repair packets (property `wire-format` of both elements).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, glib::Enum)]
#[repr(i32)]
#[enum_type(name = "GstRtp2FlexFecWireFormat")]
#[non_exhaustive]
pub enum WireFormat {
    /// draft-ietf-payload-flexible-fec-scheme-03, what libwebrtc (Chrome) sends and receives:
    /// SDP `flexfec-03/90000`.
    #[default]
    #[enum_value(name = "flexfec-03 (libwebrtc, Chrome)", nick = "flexfec-03")]
    Flexfec03 = 0,
    /// RFC 8627: SDP `flexfec/<clock-rate>`.
    #[enum_value(name = "RFC 8627", nick = "rfc8627")]
    Rfc8627 = 1,
}

impl From<WireFormat> for rtp2_core::fec::flexfec::WireFormat {
    fn from(f: WireFormat) -> Self {
        match f {
            WireFormat::Rfc8627 => rtp2_core::fec::flexfec::WireFormat::Rfc8627,
            _ => rtp2_core::fec::flexfec::WireFormat::Flexfec03,
        }
    }
}

/// How media packets are protected (property `protection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, glib::Enum)]
#[repr(i32)]
#[enum_type(name = "GstRtp2FlexFecProtection")]
#[non_exhaustive]
pub enum Protection {
    /// Per frame, `percentage` repair packets with masks of `mask-type` (what libwebrtc does).
    #[default]
    #[enum_value(name = "Flexible masks per frame", nick = "flexible")]
    Flexible = 0,
    /// One repair packet per `columns` consecutive packets (RFC 8627 §1.1.1).
    #[enum_value(name = "1-D row (non-interleaved)", nick = "row")]
    Row = 1,
    /// One repair packet per column of a `columns`×`rows` block (RFC 8627 §1.1.2).
    #[enum_value(name = "1-D column (interleaved)", nick = "column")]
    Column = 2,
    /// Rows and columns of a `columns`×`rows` block (RFC 8627 §1.1.3).
    #[enum_value(name = "2-D row and column", nick = "row-column")]
    RowColumn = 3,
    /// Columns and `diagonals` slopes of diagonals `(column + s·row) mod columns` of a
    /// `columns`×`rows` block, as flexible masks: each packet protected 1 + `diagonals`
    /// times, and bursts break none of its groups (docs/fec.md "column-diagonal").
    /// Overhead (1 + `diagonals`)/`rows`.
    #[enum_value(
        name = "Column and diagonal (flexible masks)",
        nick = "column-diagonal"
    )]
    ColumnDiagonal = 4,
}

/// Registers `rtpflexfecenc2`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "rtpflexfecenc2",
        gst::Rank::NONE,
        RtpFlexFecEnc::static_type(),
    )
}
