// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! GObject implementation of `rtph264depay2`: the shared NAL video depayloader
//! ([`crate::nalvideo::depay::NalDepayElement`]) with the H.264 codec description.

use std::sync::LazyLock;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use crate::basedepay::{IncomingPacket, RtpBaseDepay2Impl};
use crate::h264::H264Codec;
use crate::nalvideo::depay::NalDepayElement;

type Element = NalDepayElement<H264Codec>;

#[derive(Default)]
pub struct RtpH264Depay {
    inner: Element,
}

#[glib::object_subclass]
impl ObjectSubclass for RtpH264Depay {
    const NAME: &'static str = "GstRtp2H264Depay";
    type Type = super::RtpH264Depay;
    type ParentType = crate::basedepay::RtpBaseDepay2;
}

impl ObjectImpl for RtpH264Depay {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(Element::properties);
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        self.inner.set_property(value, pspec);
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        self.inner.property(pspec)
    }
}

impl GstObjectImpl for RtpH264Depay {}

impl ElementImpl for RtpH264Depay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "RTP H264 depayloader",
                "Codec/Depayloader/Network/RTP",
                "Extracts H264 video from RTP packets (RFC 6184)",
                "gst-plugin-rtp2 developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(Element::pad_templates);
        TEMPLATES.as_ref()
    }
}

impl RtpBaseDepay2Impl for RtpH264Depay {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        self.inner.start();
        Ok(())
    }

    fn set_sink_caps(&self, caps: &gst::Caps) -> bool {
        self.inner.set_sink_caps(self.obj().upcast_ref(), caps)
    }

    fn handle_packet(&self, packet: &IncomingPacket) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.inner.handle_packet(self.obj().upcast_ref(), packet);
        Ok(gst::FlowSuccess::Ok)
    }

    fn drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
        self.inner.drain(self.obj().upcast_ref());
        Ok(gst::FlowSuccess::Ok)
    }

    fn flush(&self) {
        self.inner.flush();
    }
}
