// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtphdrextvideocontenttype`: the screenshare flag (webrtc.org video-content-type). The
//! `screenshare` property is sent on every packet; on receipt it goes into the
//! `rtphdrextvideocontenttype` custom meta (field `screenshare`) and the property.

use gst::glib;
use gst::prelude::*;
use rtp2_core::hdrext::video_content_type::VideoContentType;

use super::ExtensionBehaviour;

/// The flag to send or last received.
#[derive(Default)]
pub struct ContentType(VideoContentType);

impl ExtensionBehaviour for ContentType {
    type Format = VideoContentType;
    const FACTORY: &'static str = "rtphdrextvideocontenttype";
    const LONG_NAME: &'static str = "RTP video content type header extension";
    const DESCRIPTION: &'static str = "Marks screenshare video (webrtc.org video-content-type)";

    fn properties() -> Vec<glib::ParamSpec> {
        vec![
            glib::ParamSpecBoolean::builder("screenshare")
                .nick("Screenshare")
                .blurb("The video is a screen capture (sent); the last value received")
                .build(),
        ]
    }

    fn set_property(&mut self, _name: &str, value: &glib::Value) {
        self.0.screenshare = value.get().unwrap_or(false);
    }

    fn property(&self, _name: &str) -> glib::Value {
        self.0.screenshare.to_value()
    }

    fn value_to_write(
        &mut self,
        _input: &gst::BufferRef,
        from_meta: Option<VideoContentType>,
        _marker: Option<bool>,
    ) -> Option<VideoContentType> {
        Some(from_meta.unwrap_or(self.0))
    }

    fn from_fields(s: &gst::StructureRef) -> Option<VideoContentType> {
        s.get::<bool>("screenshare")
            .ok()
            .map(|screenshare| VideoContentType { screenshare })
    }

    fn to_fields(value: &VideoContentType, s: &mut gst::StructureRef) {
        s.set("screenshare", value.screenshare);
    }

    fn on_read(&mut self, value: &VideoContentType, _output: &mut gst::BufferRef) {
        self.0 = *value;
    }
}

crate::rtp_header_extension!(
    element,
    RtpHdrExtVideoContentType,
    "GstRtp2HdrExtVideoContentType",
    crate::hdrext::video_content_type::ContentType
);
