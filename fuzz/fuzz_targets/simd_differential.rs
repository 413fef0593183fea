// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Differential: every SIMD level of the header module gives the scalar result, for batch
//! parsing of arbitrary packets and batch writing of arbitrary header fields.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rtp2_core::hdrsimd::{HeaderTemplate, Level, available, parse_headers, write_headers};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let packets: Vec<&[u8]> = common::packets(data).iter().map(|p| p.payload).collect();
    let mut reference = Vec::new();
    parse_headers(Level::Scalar, &packets, &mut reference);
    for level in available().iter().copied() {
        let mut out = Vec::new();
        parse_headers(level, &packets, &mut out);
        assert_eq!(out, reference, "{level:?}");
    }

    let Some(head) = data.get(..7) else {
        return;
    };
    let template = HeaderTemplate {
        payload_type: head[0] & 0x7f,
        ssrc: u32::from_be_bytes([head[1], head[2], head[3], head[4]]),
    };
    let first_seq = u16::from_be_bytes([head[5], head[6]]);
    let timestamps: Vec<u32> = data[7..]
        .chunks(4)
        .map(|c| c.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b)))
        .collect();
    let markers: Vec<bool> = timestamps.iter().map(|t| t & 1 != 0).collect();
    let mut reference = vec![[0u8; 12]; timestamps.len()];
    write_headers(
        Level::Scalar,
        &template,
        first_seq,
        &timestamps,
        &markers,
        &mut reference,
    );
    for level in available().iter().copied() {
        let mut out = vec![[0u8; 12]; timestamps.len()];
        write_headers(level, &template, first_seq, &timestamps, &markers, &mut out);
        assert_eq!(out, reference, "{level:?}");
    }
});
