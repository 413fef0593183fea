// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The NAL video depayloaders hold no lock of their own while the base class pushes caps,
//! posts a warning or queues an output: a caps probe or a bus sync handler may set the
//! element's properties from the streaming thread without a deadlock.

use std::time::Duration;

use gst::prelude::*;

mod common;

use common::hdrext::within;

const CAPS: &str = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96";

#[test]
fn caps_probe_may_set_properties() {
    let res = within(Duration::from_secs(10), || {
        common::init();
        let mut h = gst_check::Harness::new("rtph264depay2");
        let element = h.element().unwrap();
        let weak = element.downgrade();
        element.static_pad("src").unwrap().add_probe(
            gst::PadProbeType::EVENT_DOWNSTREAM,
            move |_, info| {
                if let Some(gst::PadProbeData::Event(ev)) = &info.data
                    && ev.type_() == gst::EventType::Caps
                    && let Some(e) = weak.upgrade()
                {
                    e.set_property("request-keyframe", true);
                    let _ = e.property::<gst::Structure>("stats");
                }
                gst::PadProbeReturn::Ok
            },
        );
        h.set_src_caps_str(CAPS);
        // A single NAL unit packet (an SPS-less IDR slice header is enough to output).
        let packet = common::rtp_packet(96, 1, 0, 7, true, &[0x65, 0x88, 0x84, 0x00]);
        h.push(gst::Buffer::from_mut_slice(packet)).unwrap();
        element.property::<bool>("request-keyframe")
    });
    assert_eq!(res, Ok(true), "caps probe setting a property");
}

#[test]
fn bus_sync_handler_may_set_properties_on_a_bad_payload_warning() {
    let res = within(Duration::from_secs(10), || {
        common::init();
        let mut h = gst_check::Harness::new("rtph264depay2");
        let element = h.element().unwrap();
        let bus = gst::Bus::new();
        element.set_bus(Some(&bus));
        let weak = element.downgrade();
        let (tx, rx) = std::sync::mpsc::channel();
        bus.set_sync_handler(move |_, msg| {
            if let gst::MessageView::Warning(_) = msg.view()
                && let Some(e) = weak.upgrade()
            {
                e.set_property("wait-for-keyframe", true);
                let _ = tx.send(e.property::<gst::Structure>("stats"));
            }
            gst::BusSyncReply::Drop
        });
        h.set_src_caps_str(CAPS);
        // NAL type 30 is reserved (RFC 6184 §5.2): dropped as bad input, warned about.
        let packet = common::rtp_packet(96, 1, 0, 7, true, &[0x1e, 1]);
        h.push(gst::Buffer::from_mut_slice(packet)).unwrap();
        rx.recv_timeout(Duration::from_secs(5))
            .map(|s| s.get::<u64>("dropped-payload").unwrap())
    });
    assert_eq!(res, Ok(Ok(1)), "warning handler setting a property");
}
