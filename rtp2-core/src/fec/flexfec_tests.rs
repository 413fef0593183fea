// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The byte vectors are libwebrtc's unit-test vectors of
//! `modules/rtp_rtcp/source/flexfec_03_header_reader_writer_unittest.cc` (flexfec-03) and
//! `flexfec_header_reader_writer_unittest.cc` (RFC 8627): each test's wire mask and the
//! "ULPFEC-style" packed mask libwebrtc expects from it (the mask bits in order, K bits
//! removed), which [`packed`] turns into our mask independently of the parser.

use super::*;

const PT_RECOVERY: u8 = 123;
const LENGTH_RECOVERY: [u8; 2] = [0xab, 0xcd];
const TS_RECOVERY: [u8; 4] = [0x01, 0x23, 0x45, 0x67];
const PAYLOAD: [u8; 4] = [0; 4];

/// A packed mask (bit 0 = the MSB of byte 0) as our flexible mask.
fn packed(bytes: &[u8]) -> u128 {
    bytes
        .iter()
        .enumerate()
        .fold(0, |m, (i, b)| m | (u128::from(*b) << (120 - 8 * i)))
}

fn parity() -> ParityFields {
    ParityFields {
        pxcc: 0,
        mpt: PT_RECOVERY,
        ts: u32::from_be_bytes(TS_RECOVERY),
        length: u16::from_be_bytes(LENGTH_RECOVERY),
    }
}

fn common_head() -> Vec<u8> {
    let mut v = vec![0x00, PT_RECOVERY];
    v.extend_from_slice(&LENGTH_RECOVERY);
    v.extend_from_slice(&TS_RECOVERY);
    v
}

/// flexfec-03: header bytes for one stream (SSRC 0x11223344, SN base 0xaabb) and `mask`.
fn draft03_packet(mask: &[u8]) -> Vec<u8> {
    let mut v = common_head();
    v.extend_from_slice(&[1, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, 0xaa, 0xbb]);
    v.extend_from_slice(mask);
    v.extend_from_slice(&PAYLOAD);
    v
}

const DRAFT03_READS: [(&[u8], &[u8], usize); 3] = [
    (&[0x80 | 0x08, 0x81], &[0x11, 0x02], 20),
    (
        &[0x48, 0x81, 0x80 | 0x02, 0x11, 0x00, 0x21],
        &[0x91, 0x02, 0x08, 0x44, 0x00, 0x84],
        24,
    ),
    (
        &[
            0x48,
            0x81,
            0x02,
            0x11,
            0x00,
            0x21,
            0x80 | 0x01,
            0x11,
            0x11,
            0x11,
            0x11,
            0x11,
            0x11,
            0x11,
        ],
        &[
            0x91, 0x02, 0x08, 0x44, 0x00, 0x84, 0x08, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88,
        ],
        32,
    ),
];

#[test]
fn libwebrtc_flexfec03_reader_vectors_parse_and_write_back() {
    for (wire, ulp, header_len) in DRAFT03_READS {
        let packet = draft03_packet(wire);
        let (h, len) = FlexfecHeader::parse(WireFormat::Flexfec03, &packet, &[]).unwrap();
        assert_eq!(len, header_len);
        assert_eq!(h.parity, parity());
        assert_eq!(
            h.streams,
            vec![ProtectedStream {
                ssrc: 0x1122_3344,
                sn_base: 0xaabb,
                mask: StreamMask::Flexible(packed(ulp)),
            }]
        );
        assert_eq!(packet.len() - len, PAYLOAD.len());
        let mut out = Vec::new();
        h.write(WireFormat::Flexfec03, &mut out).unwrap();
        assert_eq!(out, packet[..header_len], "bit-exact serialisation");
    }
}

#[test]
fn libwebrtc_flexfec03_writer_vectors() {
    // FinalizesHeaderWithKBit{0,1,2}Set: SSRC 1254983, SN base 825.
    let cases: [(&[u8], &[u8]); 3] = [
        (&[0x11, 0x02], &[0x88, 0x81]),
        (
            &[0x91, 0x02, 0x08, 0x44, 0x00, 0x84],
            &[0x48, 0x81, 0x82, 0x11, 0x00, 0x21],
        ),
        (
            &[0x22, 0x22, 0x44, 0x44, 0x44, 0x41],
            &[
                0x11, 0x11, 0x11, 0x11, 0x11, 0x10, 0xa0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            ],
        ),
    ];
    for (ulp, wire) in cases {
        let h = FlexfecHeader {
            parity: ParityFields::default(),
            streams: vec![ProtectedStream {
                ssrc: 1_254_983,
                sn_base: 825,
                mask: StreamMask::Flexible(packed(ulp)),
            }],
        };
        let mut out = Vec::new();
        h.write(WireFormat::Flexfec03, &mut out).unwrap();
        assert_eq!(out[0] & 0xc0, 0, "R and F clear");
        assert_eq!(out[8], 1, "SSRCCount");
        assert_eq!(out[12..16], 1_254_983u32.to_be_bytes());
        assert_eq!(out[16..18], 825u16.to_be_bytes());
        assert_eq!(&out[18..], wire);
    }
}

#[test]
fn libwebrtc_flexfec03_short_packets_fail() {
    // ReadPacketWithoutStreamSpecificHeaderShouldFail / ReadShortPacketWithKBit{0,1,2}.
    let k0 = draft03_packet(&[0x80 | 0x08, 0x81]);
    let k1 = draft03_packet(DRAFT03_READS[1].0);
    let k2 = draft03_packet(DRAFT03_READS[2].0);
    for (p, n) in [(&k0, 12), (&k0, 18), (&k1, 20), (&k2, 24)] {
        assert_eq!(
            FlexfecHeader::parse(WireFormat::Flexfec03, &p[..n], &[]),
            Err(FlexfecError::Truncated)
        );
    }
}

fn rfc_packet(streams: &[(u16, &[u8])]) -> Vec<u8> {
    let mut v = common_head();
    for (sn, mask) in streams {
        v.extend_from_slice(&sn.to_be_bytes());
        v.extend_from_slice(mask);
    }
    v.extend_from_slice(&PAYLOAD);
    v
}

const KK: u8 = 0x80;
const M1_WIRE: &[u8] = &[KK | 0x48, 0x81, 0x02, 0x11, 0x00, 0x21];
const M1_ULP: &[u8] = &[0x91, 0x02, 0x08, 0x44, 0x00, 0x84];
const M2_WIRE: &[u8] = &[
    KK | 0x48,
    0x81,
    KK | 0x02,
    0x11,
    0x00,
    0x21,
    0x01,
    0x11,
    0x11,
    0x11,
    0x11,
    0x11,
    0x11,
    0x11,
];
const M2_ULP: &[u8] = &[
    0x91, 0x02, 0x08, 0x44, 0x00, 0x84, 0x04, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
];

#[test]
fn libwebrtc_rfc8627_reader_vectors_parse_and_write_back() {
    type Case<'a> = (Vec<(u16, &'a [u8], &'a [u8])>, usize);
    let cases: Vec<Case> = vec![
        (vec![(0x0102, &[0x08, 0x81], &[0x11, 0x02])], 12),
        (vec![(0x0102, M1_WIRE, M1_ULP)], 16),
        (vec![(0x0102, M2_WIRE, M2_ULP)], 24),
        (
            vec![
                (0x0102, &[0x08, 0x81], &[0x11, 0x02]),
                (0x0304, &[0x04, 0x41], &[0x08, 0x82]),
            ],
            16,
        ),
        (
            vec![
                (0x0102, M1_WIRE, M1_ULP),
                (
                    0x0304,
                    &[KK | 0x57, 0x82, 0x04, 0x33, 0x00, 0x51],
                    &[0xAF, 0x04, 0x10, 0xCC, 0x01, 0x44],
                ),
            ],
            24,
        ),
        (
            vec![
                (0x0102, M2_WIRE, M2_ULP),
                (
                    0x0304,
                    &[
                        KK | 0x32,
                        0x84,
                        KK | 0x05,
                        0x23,
                        0x00,
                        0x55,
                        0xA3,
                        0x22,
                        0x22,
                        0x22,
                        0x22,
                        0x22,
                        0x22,
                        0x35,
                    ],
                    &[
                        0x65, 0x08, 0x14, 0x8C, 0x01, 0x56, 0x8C, 0x88, 0x88, 0x88, 0x88, 0x88,
                        0x88, 0xD4,
                    ],
                ),
            ],
            40,
        ),
        (
            vec![
                (0x0102, &[0x29, 0x91], &[0x53, 0x22]),
                (
                    0x0304,
                    &[KK | 0x32, 0xA1, 0x02, 0x11, 0x00, 0x21],
                    &[0x65, 0x42, 0x08, 0x44, 0x00, 0x84],
                ),
                (0x0506, M2_WIRE, M2_ULP),
                (
                    0x0708,
                    &[KK | 0x32, 0x84, 0x05, 0x23, 0x00, 0x55],
                    &[0x65, 0x08, 0x14, 0x8C, 0x01, 0x54],
                ),
            ],
            44,
        ),
    ];
    for (streams, header_len) in cases {
        let wire: Vec<(u16, &[u8])> = streams.iter().map(|(s, w, _)| (*s, *w)).collect();
        let packet = rfc_packet(&wire);
        let csrcs: Vec<u32> = (1..=streams.len() as u32).collect();
        let (h, len) = FlexfecHeader::parse(WireFormat::Rfc8627, &packet, &csrcs).unwrap();
        assert_eq!(len, header_len);
        assert_eq!(h.parity, parity());
        let expected: Vec<ProtectedStream> = streams
            .iter()
            .zip(&csrcs)
            .map(|((sn, _, ulp), ssrc)| ProtectedStream {
                ssrc: *ssrc,
                sn_base: *sn,
                mask: StreamMask::Flexible(packed(ulp)),
            })
            .collect();
        assert_eq!(h.streams, expected);
        let mut out = Vec::new();
        h.write(WireFormat::Rfc8627, &mut out).unwrap();
        assert_eq!(out, packet[..header_len], "bit-exact serialisation");
    }
}

#[test]
fn libwebrtc_rfc8627_writer_vectors() {
    // FinalizesHeaderMultipleStreamsMultipleMasks: masks at bytes 8, 24, 28, 36.
    let cases: [(u16, &[u8], &[u8]); 4] = [
        (
            1234,
            &[0x22, 0x22, 0x44, 0x44, 0x44, 0x41],
            &[
                0x91, 0x11, 0x91, 0x11, 0x11, 0x10, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            ],
        ),
        (2345, &[0x11, 0x02], &[0x08, 0x81]),
        (
            3456,
            &[0x91, 0x02, 0x08, 0x44, 0x00, 0x84],
            &[0xC8, 0x81, 0x02, 0x11, 0x00, 0x21],
        ),
        (
            4567,
            &[0xAB, 0x54, 0x8A, 0xAF, 0x37, 0xBF],
            &[
                0xD5, 0xAA, 0xA2, 0xAB, 0xCD, 0xEF, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            ],
        ),
    ];
    let h = FlexfecHeader {
        parity: ParityFields::default(),
        streams: cases
            .iter()
            .zip(1..)
            .map(|((sn, ulp, _), ssrc)| ProtectedStream {
                ssrc,
                sn_base: *sn,
                mask: StreamMask::Flexible(packed(ulp)),
            })
            .collect(),
    };
    let mut out = Vec::new();
    h.write(WireFormat::Rfc8627, &mut out).unwrap();
    assert_eq!(out[0] & 0xc0, 0, "R and F clear");
    for ((sn, _, wire), at) in cases.iter().zip([8, 24, 28, 36]) {
        assert_eq!(out[at..at + 2], sn.to_be_bytes());
        assert_eq!(&out[at + 2..at + 2 + wire.len()], *wire);
    }
    assert_eq!(out.len(), 36 + 2 + 14);
}

#[test]
fn libwebrtc_rfc8627_short_packets_fail() {
    let head = rfc_packet(&[]);
    let head = &head[..8];
    assert_eq!(
        FlexfecHeader::parse(WireFormat::Rfc8627, head, &[]),
        Err(FlexfecError::NoStreams)
    );
    assert_eq!(
        FlexfecHeader::parse(WireFormat::Rfc8627, head, &[1]),
        Err(FlexfecError::Truncated)
    );
    let k0 = rfc_packet(&[(0x0102, &[0x2B, 0xCD])]);
    let k1 = rfc_packet(&[(0x0102, &[0x92, 0x34, 0x76, 0x78, 0x9A, 0xBC])]);
    let k2 = rfc_packet(&[(0x0102, M2_WIRE)]);
    let multi = rfc_packet(&[(0x0102, &[0x2B, 0xCD]), (0x0304, M2_WIRE)]);
    for (p, n, csrcs) in [
        (&k0, 11, &[1u32][..]),
        (&k1, 14, &[1]),
        (&k2, 22, &[1]),
        (&multi, 26, &[1, 2]),
    ] {
        assert_eq!(
            FlexfecHeader::parse(WireFormat::Rfc8627, &p[..n], csrcs),
            Err(FlexfecError::Truncated)
        );
    }
}

#[test]
fn rfc8627_fixed_row_and_column() {
    let mut p = common_head();
    p[0] |= 0x40;
    p.extend_from_slice(&[0x01, 0x00, 5, 4]);
    let (h, len) = FlexfecHeader::parse(WireFormat::Rfc8627, &p, &[7]).unwrap();
    assert_eq!(len, 12);
    assert_eq!(h.streams[0].offsets(), [0, 5, 10, 15]);
    let mut out = Vec::new();
    h.write(WireFormat::Rfc8627, &mut out).unwrap();
    assert_eq!(out, p);
    for (d, n) in [(0u8, 5usize), (1, 5)] {
        let s = ProtectedStream {
            ssrc: 1,
            sn_base: 0,
            mask: StreamMask::Fixed { l: 5, d },
        };
        assert_eq!(s.offsets().len(), n);
    }
    p[10] = 0;
    assert_eq!(
        FlexfecHeader::parse(WireFormat::Rfc8627, &p, &[7]),
        Err(FlexfecError::BadMask)
    );
    // Fixed mode does not exist in flexfec-03 as libwebrtc speaks it; R = 1 is retransmission.
    let mut d = draft03_packet(&[0x88, 0x81]);
    d[0] |= 0x40;
    assert_eq!(
        FlexfecHeader::parse(WireFormat::Flexfec03, &d, &[]),
        Err(FlexfecError::UnsupportedMode)
    );
    d[0] = 0x80;
    assert_eq!(
        FlexfecHeader::parse(WireFormat::Flexfec03, &d, &[]),
        Err(FlexfecError::Retransmission)
    );
}

#[path = "flexfec_prop_tests.rs"]
mod proptests;
