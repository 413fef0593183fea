// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The base classes every element of this plugin subclasses: [`pay::RtpBasePay2`] for
//! payloaders, [`audiopay::RtpBaseAudioPay2`] for constant-bitrate audio payloaders, and
//! [`depay::RtpBaseDepay2`] for depayloaders, with the RFC 8285 header-extension plumbing
//! they share (`extensions`), and [`filter::RtpBaseFilter2`] for RTP-to-RTP elements. What the
//! bases need alike to be subclassed is in `plumbing`. See docs/base-classes.md.

pub mod audiopay;
pub mod depay;
pub(crate) mod extensions;
pub mod filter;
pub(crate) mod input_map;
pub(crate) mod orientation;
pub mod pay;
mod plumbing;
pub(crate) mod rtp_in;

/// Whether `pad` is the input of a base class that maps every packet it receives and
/// hands the map to the `rtp-metrics` tracer before anything else reads it
/// (`crate::tracer::handoff::mapped_input`): the sink pad of a depayloader or of an
/// RTP-to-RTP filter. The tracer then only notes the pushes into it.
pub(crate) fn hands_input_to_tracer(element: &gst::Element, pad: &gst::Pad) -> bool {
    use gst::prelude::Cast;
    use gst::subclass::prelude::ObjectSubclassIsExt;
    if let Some(depay) = element.downcast_ref::<depay::RtpBaseDepay2>() {
        return depay.imp().is_sink_pad(pad);
    }
    element
        .downcast_ref::<filter::RtpBaseFilter2>()
        .is_some_and(|f| f.imp().is_sink_pad(pad))
}
