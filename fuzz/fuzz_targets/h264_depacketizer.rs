// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RFC 6184 depacketizer fed sequences of packets, non-interleaved or interleaved (first
//! byte): no panic, every output NAL unit non-empty and within the size limit, the
//! de-interleaving buffer within its bound.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rtp2_core::h264::depacketizer::{DepacketizerConfig, H264Depacketizer, NalData};
use rtp2_core::naldepack::MAX_DEINTERLEAVE_NALS;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let config = DepacketizerConfig {
        max_nal_size: 64 * 1024,
        interleaved: mode & 1 != 0,
        interleaving_depth: usize::from(mode >> 1),
        deint_buf_bytes: 256 * 1024,
    };
    let mut d = H264Depacketizer::new(config);
    let (mut out, mut drops) = (Vec::new(), Vec::new());
    for p in common::packets(rest) {
        out.clear();
        d.push(
            p.payload,
            p.timestamp,
            p.marker,
            p.discont,
            &mut out,
            &mut drops,
        );
        for nal in &out {
            let len = match &nal.data {
                NalData::Payload(r) => {
                    assert!(r.end <= p.payload.len());
                    r.len()
                }
                NalData::Owned(v) => v.len(),
                _ => unreachable!("NAL data form unknown to this target"),
            };
            assert!(len > 0 && len <= config.max_nal_size + 2);
        }
        assert!(d.held_nals() <= MAX_DEINTERLEAVE_NALS);
    }
    out.clear();
    d.drain(&mut out, &mut drops);
    assert_eq!(d.held_nals(), 0);
});
