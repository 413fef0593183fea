// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtphdrextcvo`: 3GPP coordination of video orientation (TS 26.114 §7.4.5). The
//! `orientation` property takes the values of the `image-orientation` tag (`rotate-90`,
//! `flip-rotate-270`, …); a `rtphdrextcvo` custom meta on an input buffer (field
//! `orientation`, same strings) overrides it; our payloaders put the `image-orientation` tag
//! they receive into that meta (`crate::base::orientation`). Following libwebrtc's rule the
//! element is written on the last packet (marker bit) of key frames (inputs without
//! `DELTA_UNIT`), of the frame where the orientation changes, and of every frame that is not
//! upright (libwebrtc's receiver reads a frame without the element as unrotated). On receipt the orientation goes into the same meta and the
//! `orientation` property.

use gst::glib;
use gst::prelude::*;
use rtp2_core::hdrext::cvo::VideoOrientation;

use super::ExtensionBehaviour;

/// The `image-orientation` tag value of an orientation (GStreamer's tag rotates clockwise,
/// like CVO's R field; its flip is horizontal, applied first, like CVO's F).
pub fn tag_value(o: VideoOrientation) -> String {
    let flip = if o.flip { "flip-" } else { "" };
    format!("{flip}rotate-{}", o.degrees())
}

/// The orientation of an `image-orientation` tag value; `None` for anything else.
pub fn from_tag_value(s: &str) -> Option<VideoOrientation> {
    let (flip, rest) = match s.strip_prefix("flip-") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let quarter_turns = match rest {
        "rotate-0" => 0,
        "rotate-90" => 1,
        "rotate-180" => 2,
        "rotate-270" => 3,
        _ => return None,
    };
    Some(VideoOrientation {
        back_camera: false,
        flip,
        quarter_turns,
    })
}

/// The configured orientation and the last one written.
#[derive(Default)]
pub struct Cvo {
    orientation: VideoOrientation,
    last_written: Option<VideoOrientation>,
}

impl ExtensionBehaviour for Cvo {
    const USES_MARKER: bool = true;
    type Format = VideoOrientation;
    const FACTORY: &'static str = "rtphdrextcvo";
    const LONG_NAME: &'static str = "RTP video orientation (CVO) header extension";
    const DESCRIPTION: &'static str =
        "Writes and reads the 3GPP video orientation (urn:3gpp:video-orientation)";

    fn properties() -> Vec<glib::ParamSpec> {
        vec![
            glib::ParamSpecString::builder("orientation")
                .nick("Orientation")
                .blurb("image-orientation tag value to send; the last one received")
                .default_value(Some("rotate-0"))
                .build(),
        ]
    }

    fn set_property(&mut self, _name: &str, value: &glib::Value) {
        if let Some(o) = value
            .get::<Option<String>>()
            .ok()
            .flatten()
            .as_deref()
            .and_then(from_tag_value)
        {
            self.orientation = o;
        }
    }

    fn property(&self, _name: &str) -> glib::Value {
        tag_value(self.orientation).to_value()
    }

    fn value_to_write(
        &mut self,
        input: &gst::BufferRef,
        from_meta: Option<VideoOrientation>,
        marker: Option<bool>,
    ) -> Option<VideoOrientation> {
        let o = from_meta.unwrap_or(self.orientation);
        let key = !input.flags().contains(gst::BufferFlags::DELTA_UNIT);
        // The last packet of the frame (marker set); every packet if we cannot tell.
        let last = marker.unwrap_or(true);
        // libwebrtc's receiver takes a frame without the element as unrotated, so its sender
        // also writes every frame that is not upright: so do we.
        let turned = o != VideoOrientation::default();
        if last && (key || turned || self.last_written != Some(o)) {
            self.last_written = Some(o);
            Some(o)
        } else {
            None
        }
    }

    fn from_fields(s: &gst::StructureRef) -> Option<VideoOrientation> {
        s.get::<&str>("orientation").ok().and_then(from_tag_value)
    }

    fn to_fields(value: &VideoOrientation, s: &mut gst::StructureRef) {
        s.set("orientation", tag_value(*value));
        s.set("back-camera", value.back_camera);
    }

    fn on_read(&mut self, value: &VideoOrientation, _output: &mut gst::BufferRef) {
        self.orientation = *value;
    }
}

crate::rtp_header_extension!(
    element,
    RtpHdrExtCvo,
    "GstRtp2HdrExtCvo",
    crate::hdrext::cvo::Cvo
);
