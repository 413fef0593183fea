// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! C's ULPFEC decoder in examples/flexfec_residual.rs: `rtpstorage ! rtpulpfecdec` needs
//! its storage handed over and a `GstRTPPacketLost` event per loss.

use gst::prelude::*;

use super::{C_ULP_LOSS_DELAY, CAPS, Sent, delivered_ok};

/// C's ULPFEC decoder behind its `rtpstorage`: each lost packet announced by a
/// `GstRTPPacketLost` event `C_ULP_LOSS_DELAY` packets later, as a jitterbuffer would.
pub fn decode(dec: &str, sent: &[Sent], lost: &[bool]) -> usize {
    let mut h = gst_check::Harness::new_parse(dec);
    let storage: glib::Object = h
        .find_element("rtpstorage")
        .unwrap()
        .property("internal-storage");
    h.find_element("rtpulpfecdec")
        .unwrap()
        .set_property("storage", &storage);
    h.set_src_caps_str(CAPS);
    let mut delivered = std::collections::BTreeSet::new();
    let mut pending: std::collections::VecDeque<(usize, u16)> = Default::default();
    let announce = |h: &mut gst_check::Harness, seq: u16| {
        h.push_event(gst::event::CustomDownstream::new(
            gst::Structure::builder("GstRTPPacketLost")
                .field("seqnum", u32::from(seq))
                .field("timestamp", 0u64)
                .field("duration", 1_000_000u64)
                .build(),
        ));
    };
    for (i, ((_, b), &lost)) in sent.iter().zip(lost).enumerate() {
        while pending
            .front()
            .is_some_and(|&(at, _)| at + C_ULP_LOSS_DELAY <= i)
        {
            let (_, seq) = pending.pop_front().unwrap();
            announce(&mut h, seq);
        }
        if lost {
            let seq = b
                .map_readable()
                .map_or(0, |m| u16::from_be_bytes([m[2], m[3]]));
            pending.push_back((i, seq));
        } else {
            h.push(b.clone()).unwrap();
        }
        while let Some(o) = h.try_pull() {
            delivered.extend(delivered_ok(&o, true));
        }
    }
    for (_, seq) in std::mem::take(&mut pending) {
        announce(&mut h, seq);
    }
    h.push_event(gst::event::Eos::new());
    while let Some(o) = h.try_pull() {
        delivered.extend(delivered_ok(&o, true));
    }
    delivered.len()
}
