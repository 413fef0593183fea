// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RED (RFC 2198) and ULPFEC (RFC 5109) parsing and recovery: each input packet (the
//! framing of `common.rs`) is parsed as a RED payload (what parses is written again and must
//! parse the same) and fed to an `UlpfecReceiver`: marker flag = an FEC payload, else a whole
//! media packet; the loss flag skips a sequence number. No panic; the store stays within its
//! limits; every output packet is a whole RTP header or more.

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use rtp2_core::fec::receiver::UlpfecReceiver;
use rtp2_core::fec::recovery::WindowLimits;
use rtp2_core::fec::red;

fuzz_target!(|data: &[u8]| {
    let limits = WindowLimits {
        max_media: 32,
        max_fec: 16,
        max_age: 90_000,
    };
    let mut receiver = UlpfecReceiver::new(0x1234, limits);
    let mut seq: u64 = (1 << 32) - 3;
    for p in common::packets(data) {
        if let Ok(parsed) = red::parse(p.payload) {
            let again = red::write(&parsed.redundant, parsed.primary_payload_type, parsed.primary)
                .expect("a parsed payload writes");
            assert_eq!(red::parse(&again).expect("written parses"), parsed);
        }
        seq += 1 + u64::from(p.discont);
        let actions = if p.marker {
            receiver.on_fec(seq, p.timestamp, p.payload)
        } else {
            receiver.on_media(seq, p.timestamp, p.payload)
        };
        assert!(actions.output.iter().all(|r| r.packet.len() >= 12));
        let (media, fec, held) = receiver.held();
        assert!(media <= 32 && fec <= 16 && held <= 96);
    }
    let _ = receiver.finish();
});
