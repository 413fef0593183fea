// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! G.729 payload framing (RFC 3551 §4.5.6: 10-byte frames, an optional 2-byte SID frame
//! last) and the packet sizing of G.722/G.729 payloaders under any ptime settings: no panic,
//! a parsed layout accounts for every frame of the payload, a packet length never exceeds what is buffered.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rtp2_core::audio::{PtimeSettings, next_packet_len, payload_limits};
use rtp2_core::{g722, g729};

fuzz_target!(|data: &[u8]| {
    if let Ok(layout) = g729::parse_payload(data) {
        // 10 ms per 10-byte speech frame, and 10 ms for a trailing 2-byte SID frame.
        let frames = data.len() as u64 / 10 + u64::from(data.len() % 10 == 2);
        assert_eq!(layout.duration_ns(), frames * 10_000_000);
        assert_eq!(u64::from(layout.ticks()), frames * 80);
    }
    let Some(head) = data.get(..25) else {
        return;
    };
    let n = |i: usize| u64::from_be_bytes(head[i..i + 8].try_into().unwrap()) % 10_000_000_000;
    let settings = PtimeSettings {
        min_ptime_ns: n(0),
        max_ptime_ns: (head[24] & 1 != 0).then(|| n(8)),
        ptime_multiple_ns: n(16) * u64::from(head[24] >> 7),
        caps_ptime_ns: (head[24] & 2 != 0).then(|| n(4)),
        caps_maxptime_ns: (head[24] & 4 != 0).then(|| n(12)),
        default_ptime_ns: 20_000_000,
        max_payload_bytes: usize::from(u16::from_be_bytes([head[22], head[23]])),
    };
    for framing in [g722::FRAMING, g729::FRAMING] {
        let limits = payload_limits(&framing, &settings);
        for available in [0, 1, 2, 10, 12, 160, 320, 1400, data.len()] {
            for draining in [false, true] {
                if let Some(len) = next_packet_len(&limits, &framing, available, draining) {
                    assert!(len > 0 && len <= available);
                }
            }
        }
    }
});
