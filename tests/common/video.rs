// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Video test helpers: coded streams run through elements in a harness, frame checksums.

use std::hash::{DefaultHasher, Hash, Hasher};

use gst::prelude::*;

/// A coded stream: buffers and their caps.
#[derive(Clone)]
pub struct Stream {
    /// The buffers, in order.
    pub buffers: Vec<gst::Buffer>,
    /// Their caps.
    pub caps: gst::Caps,
}

/// Runs `stream` through `launch` in a harness; returns the outputs and their caps.
pub fn through(launch: &str, stream: &Stream) -> Stream {
    let mut h = gst_check::Harness::new_parse(launch);
    h.set_src_caps(stream.caps.clone());
    for b in &stream.buffers {
        h.push(b.clone()).unwrap();
    }
    h.push_event(gst::event::Eos::new());
    let mut buffers = Vec::new();
    while let Some(b) = h.try_pull() {
        buffers.push(b);
    }
    let caps = h
        .sinkpad()
        .and_then(|p| p.current_caps())
        .unwrap_or_else(gst::Caps::new_any);
    Stream { buffers, caps }
}

/// A checksum of each (decoded) frame.
pub fn frame_hashes(frames: &[gst::Buffer]) -> Vec<u64> {
    frames
        .iter()
        .map(|f| {
            let mut h = DefaultHasher::new();
            f.map_readable().unwrap().as_slice().hash(&mut h);
            h.finish()
        })
        .collect()
}

/// The NAL units of Annex B buffers.
pub fn nals_of(buffers: &[gst::Buffer]) -> Vec<Vec<u8>> {
    buffers
        .iter()
        .flat_map(|b| {
            let map = b.map_readable().unwrap();
            rtp2_core::nal::annexb_nal_ranges(&map)
                .into_iter()
                .map(|r| map[r].to_vec())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Depayloads `packets` through `depay` (request-keyframe and wait-for-keyframe on) with
/// packet `lost` missing, and checks: every NAL unit out is one of `sent_nals`; the first
/// output after the loss is DISCONT and a keyframe; a keyframe was requested upstream; one
/// packet counted lost.
pub fn check_loss(depay: &str, packets: &Stream, lost: usize, sent_nals: &[Vec<u8>], what: &str) {
    let mut h = gst_check::Harness::new(depay);
    let element = h.element().unwrap();
    element.set_property("request-keyframe", true);
    element.set_property("wait-for-keyframe", true);
    h.set_src_caps(packets.caps.clone());
    for (i, p) in packets.buffers.iter().enumerate() {
        if i != lost {
            h.push(p.clone()).unwrap();
        }
    }
    h.push_event(gst::event::Eos::new());
    let mut outs = Vec::new();
    while let Some(b) = h.try_pull() {
        outs.push(b);
    }
    for nal in nals_of(&outs) {
        assert!(
            sent_nals.contains(&nal),
            "{what}: a NAL unit that was never sent came out"
        );
    }
    let first_after = outs
        .iter()
        .position(|b| b.flags().contains(gst::BufferFlags::DISCONT) && b.pts() > outs[0].pts());
    assert!(first_after.is_some(), "{what}: DISCONT after the loss");
    // wait-for-keyframe: the output after the loss is a keyframe.
    let after = &outs[first_after.unwrap()];
    assert!(
        !after.flags().contains(gst::BufferFlags::DELTA_UNIT),
        "{what}: resumes at a keyframe"
    );
    let mut requested = false;
    while let Some(ev) = h.try_pull_upstream_event() {
        requested |= gst_video::ForceKeyUnitEvent::is(&ev);
    }
    assert!(requested, "{what}: keyframe requested upstream");
    let stats = element.property::<gst::Structure>("stats");
    assert_eq!(
        stats.get::<u64>("packets-lost").unwrap(),
        1,
        "{what}: {stats}"
    );
    assert!(stats.get::<u64>("keyframe-requests").unwrap() >= 1);
}
