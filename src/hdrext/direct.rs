// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Our base classes call this plugin's own elements without the GObject vfunc path.

use gst::glib;

use super::{
    abs_capture_time, abs_send_time, csrc_audio_level, cvo, playout_delay, toffset,
    video_content_type, video_timing,
};

/// The `read` and `write` of a framework element, called directly (see [`direct_calls`]).
#[derive(Debug, Clone, Copy)]
pub struct DirectCalls {
    /// What the `read` vfunc does; `false` if the extension is not of the element's type.
    pub read: fn(&gst_rtp::RTPHeaderExtension, &[u8], &mut gst::BufferRef) -> bool,
    /// What the `write` vfunc does (bytes written, 0 for none); `None` if the extension is
    /// not of the element's type.
    #[allow(clippy::type_complexity)]
    pub write: fn(
        &gst_rtp::RTPHeaderExtension,
        &gst::BufferRef,
        gst_rtp::RTPHeaderExtensionFlags,
        &gst::BufferRef,
        &mut [u8],
    ) -> Option<usize>,
}

/// The direct calls of an extension of exactly the type `t` when that is one of this
/// plugin's elements (a subclass may override `read` or `write`): our base classes make them
/// instead of `gst_rtp_header_extension_read` / `_write` and the GObject trampolines (about
/// 250 instructions less per element), and need not ask such an element
/// `wants_update_non_rtp_src_caps` after a read (it never asks).
pub fn direct_calls(t: glib::Type) -> Option<DirectCalls> {
    use glib::prelude::StaticType;
    let table: [(glib::Type, DirectCalls); 8] = [
        (
            cvo::element::RtpHdrExtCvo::static_type(),
            cvo::element::DIRECT,
        ),
        (
            abs_send_time::element::RtpHdrExtAbsSendTime::static_type(),
            abs_send_time::element::DIRECT,
        ),
        (
            playout_delay::element::RtpHdrExtPlayoutDelay::static_type(),
            playout_delay::element::DIRECT,
        ),
        (
            toffset::element::RtpHdrExtToffset::static_type(),
            toffset::element::DIRECT,
        ),
        (
            abs_capture_time::element::RtpHdrExtAbsCaptureTime::static_type(),
            abs_capture_time::element::DIRECT,
        ),
        (
            video_content_type::element::RtpHdrExtVideoContentType::static_type(),
            video_content_type::element::DIRECT,
        ),
        (
            video_timing::element::RtpHdrExtVideoTiming::static_type(),
            video_timing::element::DIRECT,
        ),
        (
            csrc_audio_level::element::RtpHdrExtCsrcAudioLevel::static_type(),
            csrc_audio_level::element::DIRECT,
        ),
    ];
    table.into_iter().find(|(ty, _)| *ty == t).map(|(_, f)| f)
}
