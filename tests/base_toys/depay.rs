// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! A toy depayloader on `RtpBaseDepay2` ("TOY" format, made up for the test): the first
//! payload byte says whether the packet starts (bit 0) and ends (bit 1) a unit; the rest is
//! the unit's data. A unit is output when its end arrives, naming the packets it was made
//! from (its extended sequence-number range); a loss inside a unit drops it (never a partial
//! unit out); an empty payload is bad input.

use std::sync::Mutex;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gstrtp2::base::depay::{IncomingPacket, RtpBaseDepay2, RtpBaseDepay2Ext, RtpBaseDepay2Impl};

glib::wrapper! {
    pub struct ToyDepay(ObjectSubclass<imp::ToyDepay>)
        @extends RtpBaseDepay2, gst::Element, gst::Object;
}

/// Fragment header bits of the toy format.
pub const START: u8 = 1;
/// See [`START`].
pub const END: u8 = 2;

/// Registers the toy as element `rtp2toydepay` (once per process).
pub fn register() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        gst::Element::register(
            None,
            "rtp2toydepay",
            gst::Rank::NONE,
            ToyDepay::static_type(),
        )
        .expect("register rtp2toydepay");
    });
}

mod imp {
    use super::*;

    /// The unit being assembled.
    struct Unit {
        data: Vec<u8>,
        /// Extended RTP timestamp and sequence number of its first packet.
        ext_timestamp: u64,
        first_seqnum: u64,
    }

    #[derive(Default)]
    pub struct ToyDepay {
        unit: Mutex<Option<Unit>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ToyDepay {
        const NAME: &'static str = "Rtp2TestToyDepay";
        type Type = super::ToyDepay;
        type ParentType = RtpBaseDepay2;
    }

    impl ObjectImpl for ToyDepay {}
    impl GstObjectImpl for ToyDepay {}

    impl ElementImpl for ToyDepay {
        fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
            static META: std::sync::LazyLock<gst::subclass::ElementMetadata> =
                std::sync::LazyLock::new(|| {
                    gst::subclass::ElementMetadata::new(
                        "Toy depayloader",
                        "Codec/Depayloader/Network/RTP",
                        "Test subclass of RtpBaseDepay2",
                        "tests",
                    )
                });
            Some(&META)
        }

        fn pad_templates() -> &'static [gst::PadTemplate] {
            static TEMPLATES: std::sync::LazyLock<Vec<gst::PadTemplate>> =
                std::sync::LazyLock::new(|| {
                    let sink = gst::Caps::new_empty_simple("application/x-rtp");
                    let src = gst::Caps::new_empty_simple("application/x-toy");
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

    impl RtpBaseDepay2Impl for ToyDepay {
        fn set_sink_caps(&self, _caps: &gst::Caps) -> bool {
            self.obj()
                .set_src_caps(&gst::Caps::new_empty_simple("application/x-toy"))
        }

        fn handle_packet(
            &self,
            packet: &IncomingPacket,
        ) -> Result<gst::FlowSuccess, gst::FlowError> {
            let Some((&header, body)) = packet.payload().split_first() else {
                self.obj().drop_packet(&"empty toy payload");
                return Ok(gst::FlowSuccess::Ok);
            };
            // Decide under the toy's lock, call the base class after it (the lock rule).
            let (done, lost_partial) = {
                let mut unit = self.unit.lock().unwrap();
                let mut lost_partial = false;
                if packet.discont() && unit.take().is_some() {
                    lost_partial = true;
                }
                if header & START != 0 {
                    lost_partial |= unit.is_some();
                    *unit = Some(Unit {
                        data: Vec::new(),
                        ext_timestamp: packet.ext_timestamp(),
                        first_seqnum: packet.ext_seqnum(),
                    });
                }
                match unit.as_mut() {
                    Some(unit) => unit.data.extend_from_slice(body),
                    // A middle or end fragment whose start was lost.
                    None => lost_partial = true,
                }
                let done = if header & END != 0 { unit.take() } else { None };
                (done, lost_partial)
            };
            if lost_partial {
                self.obj().mark_discont();
            }
            if let Some(unit) = done {
                self.obj().push_output(
                    gst::Buffer::from_mut_slice(unit.data),
                    unit.ext_timestamp,
                    unit.first_seqnum..=packet.ext_seqnum(),
                );
            }
            Ok(gst::FlowSuccess::Ok)
        }

        fn flush(&self) {
            *self.unit.lock().unwrap() = None;
        }
    }
}
