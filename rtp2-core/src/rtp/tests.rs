// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Unit and property tests of the RTP header parser and writer.

use super::*;
use proptest::prelude::*;

/// A packet written by hand, byte by byte, from RFC 3550 §5.1.
const HAND_MADE: [u8; 28] = [
    0x92, 0xe0, 0x12, 0x34, // V=2 P=0 X=1 CC=2, M=1 PT=96, seq 0x1234
    0xde, 0xad, 0xbe, 0xef, // timestamp
    0x01, 0x02, 0x03, 0x04, // SSRC
    0x00, 0x00, 0x00, 0x0a, // CSRC 10
    0x00, 0x00, 0x00, 0x0b, // CSRC 11
    0xbe, 0xde, 0x00, 0x01, // extension profile 0xBEDE, 1 word
    0x10, 0xaa, 0x00, 0x00, // extension data
];

#[test]
fn reads_every_field_of_a_hand_made_packet() {
    let mut data = HAND_MADE.to_vec();
    data.extend_from_slice(&[1, 2, 3]);
    let p = RtpPacket::parse(&data).unwrap();
    assert!(p.marker());
    assert_eq!(p.payload_type(), 96);
    assert_eq!(p.sequence_number(), 0x1234);
    assert_eq!(p.timestamp(), 0xdead_beef);
    assert_eq!(p.ssrc(), 0x0102_0304);
    assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![10, 11]);
    assert_eq!(p.extension(), Some((0xbede, &[0x10, 0xaa, 0, 0][..])));
    assert_eq!(p.header_len(), 28);
    assert_eq!(p.payload(), &[1, 2, 3]);
    assert!(!p.has_padding());
}

#[test]
fn packet_header_writer_adds_csrcs_extension_and_prefix_to_fixed_bytes() {
    let mut fixed = [0u8; FIXED_HEADER_LEN];
    fixed.copy_from_slice(&HAND_MADE[..12]);
    fixed[0] = 0x80; // as the batch writer leaves it: CC = 0, X = 0
    let mut out = [0xffu8; 40];
    let n = write_packet_header(
        &mut out,
        &fixed,
        &[10, 11],
        Some((0xbede, &[0x10, 0xaa, 0, 0])),
        &[0x7c, 0x85],
    )
    .unwrap();
    assert_eq!(n, 30);
    assert_eq!(&out[..28], &HAND_MADE[..]);
    assert_eq!(&out[28..30], &[0x7c, 0x85]);
    assert_eq!(out[30], 0xff, "nothing written past the prefix");
    assert_eq!(
        write_packet_header(&mut out[..29], &fixed, &[10, 11], None, &[0; 30]),
        Err(RtpWriteError::BufferTooSmall {
            needed: 50,
            available: 29
        })
    );
}

#[test]
fn writes_the_same_bytes() {
    let mut out = [0u8; 28];
    let header = RtpHeader {
        marker: true,
        payload_type: 96,
        sequence_number: 0x1234,
        timestamp: 0xdead_beef,
        ssrc: 0x0102_0304,
    };
    let n = write_header(
        &mut out,
        &header,
        &[10, 11],
        Some((0xbede, &[0x10, 0xaa, 0, 0])),
    )
    .unwrap();
    assert_eq!(n, 28);
    assert_eq!(out, HAND_MADE);
}

#[test]
fn padding_is_removed_from_the_payload() {
    let mut data = vec![0xa0, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
    data.extend_from_slice(&[9, 9, 0, 0, 3]);
    let p = RtpPacket::parse(&data).unwrap();
    assert_eq!(p.payload(), &[9, 9]);
    assert_eq!(p.padding_len(), 3);
}

#[test]
fn every_error() {
    let ok = [0x80u8, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
    assert_eq!(
        RtpPacket::parse(&ok[..5]).unwrap_err(),
        RtpParseError::TooShort { len: 5 }
    );
    assert_eq!(
        RtpPacket::parse(&[]).unwrap_err(),
        RtpParseError::TooShort { len: 0 }
    );
    let mut v1 = ok;
    v1[0] = 0x40;
    assert_eq!(
        RtpPacket::parse(&v1).unwrap_err(),
        RtpParseError::BadVersion { version: 1 }
    );
    let mut cc = ok.to_vec();
    cc[0] = 0x81;
    assert_eq!(
        RtpPacket::parse(&cc).unwrap_err(),
        RtpParseError::CsrcPastEnd {
            csrc_count: 1,
            len: 12
        }
    );
    let mut ext = ok.to_vec();
    ext[0] = 0x90;
    assert_eq!(
        RtpPacket::parse(&ext).unwrap_err(),
        RtpParseError::ExtensionPastEnd {
            declared: 4,
            available: 0
        }
    );
    ext.extend_from_slice(&[0xbe, 0xde, 0, 2, 0, 0, 0, 0]);
    assert_eq!(
        RtpPacket::parse(&ext).unwrap_err(),
        RtpParseError::ExtensionPastEnd {
            declared: 12,
            available: 8
        }
    );
    let mut pad = ok.to_vec();
    pad[0] = 0xa0;
    pad.extend_from_slice(&[1, 2, 0]);
    assert_eq!(
        RtpPacket::parse(&pad).unwrap_err(),
        RtpParseError::BadPadding {
            padding: 0,
            available: 3
        }
    );
    *pad.last_mut().unwrap() = 4;
    assert_eq!(
        RtpPacket::parse(&pad).unwrap_err(),
        RtpParseError::BadPadding {
            padding: 4,
            available: 3
        }
    );
    for e in [
        RtpParseError::TooShort { len: 1 },
        RtpParseError::BadVersion { version: 3 },
    ] {
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn write_errors() {
    let h = RtpHeader::default();
    let mut out = [0u8; 64];
    assert_eq!(
        write_header(&mut out, &h, &[0; 16], None),
        Err(RtpWriteError::TooManyCsrcs(16))
    );
    assert_eq!(
        write_header(&mut out, &h, &[], Some((0xbede, &[1, 2, 3]))),
        Err(RtpWriteError::ExtensionNotWordAligned(3))
    );
    assert_eq!(
        write_header(&mut out[..13], &h, &[1], None),
        Err(RtpWriteError::BufferTooSmall {
            needed: 16,
            available: 13
        })
    );
    let bad_pt = RtpHeader {
        payload_type: 128,
        ..h
    };
    assert_eq!(
        write_header(&mut out, &bad_pt, &[], None),
        Err(RtpWriteError::PayloadTypeOutOfRange(128))
    );
}

proptest! {
    #[test]
    fn write_then_parse_round_trips(
        marker: bool,
        pt in 0u8..128,
        seq: u16,
        ts: u32,
        ssrc: u32,
        csrcs in proptest::collection::vec(any::<u32>(), 0..=15),
        ext in proptest::option::of((any::<u16>(), proptest::collection::vec(any::<u8>(), 0..64))),
        payload in proptest::collection::vec(any::<u8>(), 0..100),
    ) {
        let ext = ext.map(|(p, mut d)| { d.truncate(d.len() / 4 * 4); (p, d) });
        let ext_ref = ext.as_ref().map(|(p, d)| (*p, d.as_slice()));
        let header = RtpHeader { marker, payload_type: pt, sequence_number: seq, timestamp: ts, ssrc };
        let mut out = vec![0u8; header_len(csrcs.len(), ext_ref.map(|(_, d)| d.len()))];
        let n = write_header(&mut out, &header, &csrcs, ext_ref).unwrap();
        prop_assert_eq!(n, out.len());
        out.extend_from_slice(&payload);
        let p = RtpPacket::parse(&out).unwrap();
        prop_assert_eq!(p.marker(), marker);
        prop_assert_eq!(p.payload_type(), pt);
        prop_assert_eq!(p.sequence_number(), seq);
        prop_assert_eq!(p.timestamp(), ts);
        prop_assert_eq!(p.ssrc(), ssrc);
        prop_assert_eq!(p.csrcs().collect::<Vec<_>>(), csrcs);
        prop_assert_eq!(p.extension(), ext_ref);
        prop_assert_eq!(p.payload(), &payload[..]);
    }

    #[test]
    fn parse_never_panics(data in proptest::collection::vec(any::<u8>(), 0..80)) {
        if let Ok(p) = RtpPacket::parse(&data) {
            prop_assert!(p.header_len() + p.payload().len() + p.padding_len() == data.len());
            let _ = (p.csrcs().count(), p.extension());
        }
    }
}
