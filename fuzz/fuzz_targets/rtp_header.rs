// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RTP packet parsing (RFC 3550 §5.1) and header extension elements (RFC 8285): no panic,
//! the payload and extension lie within the packet, and a parsed header written back
//! parses to the same fields.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rtp2_core::hdrext::parse_elements;
use rtp2_core::rtp::{RtpHeader, RtpPacket, header_len, write_header};

fuzz_target!(|data: &[u8]| {
    let Ok(p) = RtpPacket::parse(data) else {
        return;
    };
    assert!(p.payload().len() + 12 <= data.len());
    let csrcs: Vec<u32> = p.csrcs().collect();
    assert_eq!(csrcs.len(), usize::from(p.csrc_count()));
    if let Some((profile, ext)) = p.extension() {
        assert!(ext.len() <= data.len());
        if let Ok(elements) = parse_elements(profile, ext) {
            for e in elements.flatten() {
                let _ = e;
            }
        }
    }
    let header = RtpHeader {
        marker: p.marker(),
        payload_type: p.payload_type(),
        sequence_number: p.sequence_number(),
        timestamp: p.timestamp(),
        ssrc: p.ssrc(),
    };
    let mut buf = vec![0u8; header_len(csrcs.len(), None)];
    write_header(&mut buf, &header, &csrcs, None).unwrap();
    let q = RtpPacket::parse(&buf).unwrap();
    assert_eq!(q.sequence_number(), p.sequence_number());
    assert_eq!(q.timestamp(), p.timestamp());
    assert_eq!(q.ssrc(), p.ssrc());
    assert_eq!(q.csrcs().collect::<Vec<_>>(), csrcs);
});
