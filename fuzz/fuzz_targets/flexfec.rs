// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! FlexFEC parsing and recovery, both wire formats: the first byte picks the format (bit 0:
//! RFC 8627, else flexfec-03), the rest is packets in the framing of `common.rs`, each a
//! whole RTP packet: marker flag = a repair packet, else media. A repair header that parses
//! is written again and must parse the same; every packet goes to a `FlexfecReceiver`. No
//! panic; its windows stay within their limits; every packet it gives back is a whole RTP
//! header or more.

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use rtp2_core::fec::flexfec::{FlexfecHeader, WireFormat};
use rtp2_core::fec::flexfec_receiver::FlexfecReceiver;
use rtp2_core::fec::recovery::WindowLimits;
use rtp2_core::rtp::RtpPacket;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let format = if mode & 1 == 1 {
        WireFormat::Rfc8627
    } else {
        WireFormat::Flexfec03
    };
    let limits = WindowLimits {
        max_media: 32,
        max_fec: 16,
        max_age: 1 << 20,
    };
    let mut receiver = FlexfecReceiver::new(format, limits, 4);
    for p in common::packets(rest) {
        if let Ok(rtp) = RtpPacket::parse(p.payload) {
            let csrcs: Vec<u32> = rtp.csrcs().collect();
            if let Ok((header, len)) = FlexfecHeader::parse(format, rtp.payload(), &csrcs) {
                assert!(len <= rtp.payload().len());
                let mut again = Vec::new();
                if header.write(format, &mut again).is_ok() {
                    let (back, n) =
                        FlexfecHeader::parse(format, &again, &csrcs).expect("written parses");
                    assert_eq!(back, header);
                    assert_eq!(n, again.len());
                }
            }
        }
        let out = if p.marker {
            receiver.on_fec(p.payload, p.timestamp).unwrap_or_default()
        } else {
            receiver.on_media(p.payload, p.timestamp)
        };
        assert!(out.iter().all(|r| r.packet.len() >= 12));
        let (streams, media, fec) = receiver.held();
        assert!(streams <= 4 && media <= 4 * 32 && fec <= 4 * 16);
    }
});
