// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RFC 7798 depacketizer fed sequences of packets, with or without DONL fields (first
//! byte): no panic, every output NAL unit at least 2 bytes and within the size limit, the
//! decoding-order buffer within its bound.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rtp2_core::h265::depacketizer::{DepacketizerConfig, H265Depacketizer, NalData};
use rtp2_core::naldepack::MAX_DEINTERLEAVE_NALS;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let config = DepacketizerConfig {
        max_nal_size: 64 * 1024,
        max_don_diff: u32::from(mode & 0x0f),
        depack_buf_nalus: usize::from(mode >> 4) * 8,
        depack_buf_bytes: 256 * 1024,
    };
    let mut d = H265Depacketizer::new(config);
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
            assert!(len >= 2 && len <= config.max_nal_size + 2);
        }
        assert!(d.held_nals() <= MAX_DEINTERLEAVE_NALS);
    }
    out.clear();
    d.drain(&mut out, &mut drops);
    assert_eq!(d.held_nals(), 0);
});
