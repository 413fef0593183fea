// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! A toy payloader on `RtpBasePay2` ("TOY" format, made up for the test): each input buffer
//! is cut into packets of at most `max_payload_size()` bytes, the last one with the marker
//! bit; an input starting with `H` is held back and sent before the next input (or drained at
//! EOS), its packets naming it (its input id) as the input they were made from; an empty
//! input is bad input.

use std::sync::Mutex;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gstrtp2::base::pay::{
    InputId, InputRange, OutgoingPacket, RtpBasePay2, RtpBasePay2Ext, RtpBasePay2Impl,
};

glib::wrapper! {
    pub struct ToyPay(ObjectSubclass<imp::ToyPay>) @extends RtpBasePay2, gst::Element, gst::Object;
}

/// Registers the toy as element `rtp2toypay` (once per process).
pub fn register() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        gst::Element::register(None, "rtp2toypay", gst::Rank::NONE, ToyPay::static_type())
            .expect("register rtp2toypay");
    });
}

mod imp {
    use super::*;

    #[derive(Default)]
    pub struct ToyPay {
        held: Mutex<Vec<(InputId, gst::Buffer)>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ToyPay {
        const NAME: &'static str = "Rtp2TestToyPay";
        type Type = super::ToyPay;
        type ParentType = RtpBasePay2;
    }

    impl ObjectImpl for ToyPay {}
    impl GstObjectImpl for ToyPay {}

    impl ElementImpl for ToyPay {
        fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
            static META: std::sync::LazyLock<gst::subclass::ElementMetadata> =
                std::sync::LazyLock::new(|| {
                    gst::subclass::ElementMetadata::new(
                        "Toy payloader",
                        "Codec/Payloader/Network/RTP",
                        "Test subclass of RtpBasePay2",
                        "tests",
                    )
                });
            Some(&META)
        }

        fn pad_templates() -> &'static [gst::PadTemplate] {
            static TEMPLATES: std::sync::LazyLock<Vec<gst::PadTemplate>> =
                std::sync::LazyLock::new(|| {
                    let sink = gst::Caps::new_empty_simple("application/x-toy");
                    let src = gst::Caps::new_empty_simple("application/x-rtp");
                    vec![
                        gst::PadTemplate::new(
                            "sink",
                            gst::PadDirection::Sink,
                            gst::PadPresence::Always,
                            &sink,
                        )
                        .unwrap(),
                        gst::PadTemplate::new(
                            "src",
                            gst::PadDirection::Src,
                            gst::PadPresence::Always,
                            &src,
                        )
                        .unwrap(),
                    ]
                });
            TEMPLATES.as_ref()
        }
    }

    impl ToyPay {
        /// Queues the packets of `buffer`, input `id` (no lock of the toy held: the lock
        /// rule).
        fn packetize(&self, buffer: &gst::Buffer, id: InputId) {
            let obj = self.obj();
            let max = obj.max_payload_size().max(1);
            let size = buffer.size();
            let mut start = 0;
            while start < size {
                let end = (start + max).min(size);
                let payload = buffer
                    .copy_region(gst::BufferCopyFlags::MEMORY, start..end)
                    .unwrap();
                let mut packet = OutgoingPacket::new(payload, buffer.pts());
                packet.marker = end == size;
                packet.discont = start == 0 && buffer.flags().contains(gst::BufferFlags::DISCONT);
                packet.inputs = Some(InputRange::single(id));
                obj.queue_packet(packet);
                start = end;
            }
        }

        fn send_held(&self) {
            let held = std::mem::take(&mut *self.held.lock().unwrap());
            for (id, buffer) in &held {
                self.packetize(buffer, *id);
            }
        }
    }

    impl RtpBasePay2Impl for ToyPay {
        fn set_sink_caps(&self, _caps: &gst::Caps) -> bool {
            self.obj().set_src_caps(
                &gst::Caps::builder("application/x-rtp")
                    .field("media", "application")
                    .field("clock-rate", 8000i32)
                    .field("encoding-name", "TOY")
                    .build(),
            )
        }

        fn handle_buffer(&self, buffer: &gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
            let first = {
                let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                map.first().copied()
            };
            match first {
                None => self.obj().drop_invalid_input(&"empty toy input"),
                Some(b'H') => {
                    let id = self.obj().current_input_id();
                    self.held.lock().unwrap().push((id, buffer.clone()));
                }
                Some(_) => {
                    self.send_held();
                    self.packetize(buffer, self.obj().current_input_id());
                }
            }
            Ok(gst::FlowSuccess::Ok)
        }

        fn drain(&self) -> Result<gst::FlowSuccess, gst::FlowError> {
            self.send_held();
            Ok(gst::FlowSuccess::Ok)
        }

        fn flush(&self) {
            self.held.lock().unwrap().clear();
        }
    }
}
