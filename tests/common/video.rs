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
