// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Tests of the RFC 6184 depacketizer, packets built by hand from the RFC's byte layouts.

use super::*;

use crate::naldepack::test_support::run;

#[test]
fn single_stap_a_and_fu_a() {
    let mut d = H264Depacketizer::default();
    let stap = [0x78, 0, 2, 0x67, 1, 0, 2, 0x68, 2];
    let (nals, drops) = run(
        &mut d,
        &[
            (&[0x41, 9], 0, false, false),
            (&stap, 1, false, false),
            (&[0x7c, 0x85, 1, 2], 2, false, false),
            (&[0x7c, 0x05, 3], 2, false, false),
            (&[0x7c, 0x45, 4], 2, true, false),
        ],
    );
    assert!(drops.is_empty());
    assert_eq!(
        nals,
        vec![
            vec![0x41, 9],
            vec![0x67, 1],
            vec![0x68, 2],
            vec![0x65, 1, 2, 3, 4]
        ]
    );
}

#[test]
fn marker_is_on_the_last_nal_of_the_packet() {
    let mut d = H264Depacketizer::default();
    let mut out = Vec::new();
    let mut drops = Vec::new();
    d.push(
        &[0x78, 0, 1, 0x67, 0, 1, 0x65],
        0,
        true,
        false,
        &mut out,
        &mut drops,
    );
    assert_eq!(
        out.iter().map(|o| o.marker).collect::<Vec<_>>(),
        vec![false, true]
    );
}

#[test]
fn loss_inside_a_fragmented_nal_drops_it_whole() {
    let mut d = H264Depacketizer::default();
    let (nals, drops) = run(
        &mut d,
        &[
            (&[0x7c, 0x85, 1], 0, false, false),
            // A middle fragment was lost: the depayloader says discont.
            (&[0x7c, 0x45, 3], 0, true, true),
            (&[0x41, 7], 1, true, false),
        ],
    );
    assert_eq!(nals, vec![vec![0x41, 7]]);
    assert_eq!(
        drops,
        vec![
            DropReason::IncompleteFragmentedNal,
            DropReason::FragmentWithoutStart
        ]
    );
}

#[test]
fn hostile_inputs() {
    let mut d = H264Depacketizer::new(DepacketizerConfig {
        max_nal_size: 8,
        ..Default::default()
    });
    let cases: Vec<(&[u8], DropReason)> = vec![
        (&[], DropReason::EmptyPayload),
        (&[0x00, 1], DropReason::UnsupportedType(0)),
        (&[0x1e, 1], DropReason::UnsupportedType(30)),
        (&[0x1f, 1], DropReason::UnsupportedType(31)),
        (&[0xe1, 1], DropReason::ForbiddenBit),
        (&[0x78, 0, 0], DropReason::BadAggregation(24)),
        (&[0x78, 0, 9, 1], DropReason::BadAggregation(24)),
        (&[0x78], DropReason::BadAggregation(24)),
        (&[0x7c, 0xc5, 1], DropReason::FragmentStartAndEnd),
        (&[0x7c, 0x05, 1], DropReason::FragmentWithoutStart),
        (&[0x7a, 0, 0, 0, 0], DropReason::BadAggregation(26)),
    ];
    for (payload, reason) in cases {
        let (nals, drops) = run(&mut d, &[(payload, 0, false, false)]);
        assert!(nals.is_empty(), "{payload:?}");
        assert_eq!(drops, vec![reason], "{payload:?}");
        d.reset();
    }
    // Type change mid-way, and a NAL unit that never ends within the limit.
    let (nals, drops) = run(
        &mut d,
        &[
            (&[0x7c, 0x85, 1], 0, false, false),
            (&[0x7c, 0x41, 2], 0, false, false),
        ],
    );
    assert!(nals.is_empty());
    assert_eq!(drops, vec![DropReason::FragmentMismatch]);
    let (nals, drops) = run(
        &mut d,
        &[
            (&[0x7c, 0x85, 1, 2, 3, 4], 0, false, false),
            (&[0x7c, 0x05, 5, 6, 7, 8], 0, false, false),
            (&[0x7c, 0x05, 9], 0, false, false),
            (&[0x7c, 0x45, 9], 0, false, false),
        ],
    );
    assert!(nals.is_empty());
    assert_eq!(drops, vec![DropReason::FragmentedNalTooLarge(8)]);
}

#[test]
fn interleaved_mode_orders_by_don_across_the_wrap() {
    let mut d = H264Depacketizer::new(DepacketizerConfig {
        interleaved: true,
        interleaving_depth: 2,
        ..Default::default()
    });
    // STAP-B with DON 65534: units 65534 and 65535; then FU-B DON 1; MTAP16 DONB 0.
    let stap_b = [0x79, 0xff, 0xfe, 0, 2, 0x41, 1, 0, 2, 0x41, 2];
    let fu_b_start = [0x7d, 0x81, 0, 1, 0xaa];
    let fu_end = [0x7c, 0x41, 0xbb];
    // MTAP16, RFC 6184 §5.7.2 Figure 12: DONB 0, then NALU size 2 (the NAL unit only),
    // DOND 0, TS offset 10, NAL unit 0x41 0x03.
    let mtap = [0x7a, 0, 0, 0, 2, 0, 0, 10, 0x41, 3];
    let (nals, drops) = run(
        &mut d,
        &[
            (&stap_b, 0, false, false),
            (&fu_b_start, 0, false, false),
            (&fu_end, 0, false, false),
            (&mtap, 0, false, false),
        ],
    );
    assert!(drops.is_empty(), "{drops:?}");
    let mut rest = Vec::new();
    let mut out = Vec::new();
    let mut drops = Vec::new();
    d.drain(&mut out, &mut drops);
    for o in out {
        if let NalData::Owned(v) = o.data {
            rest.push(v);
        }
    }
    let all: Vec<Vec<u8>> = nals.into_iter().chain(rest).collect();
    assert_eq!(
        all,
        vec![
            vec![0x41, 1],
            vec![0x41, 2],
            vec![0x41, 3],
            vec![0x61, 0xaa, 0xbb]
        ]
    );
}

#[test]
fn interleaved_marker_stays_with_its_nal_unit() {
    let mut d = H264Depacketizer::new(DepacketizerConfig {
        interleaved: true,
        interleaving_depth: 1,
        ..Default::default()
    });
    // Two STAP-B packets (§5.7.1: header, DON, then size + NAL unit), each a whole
    // access unit of two slices with the marker bit.
    let au0 = [0x79, 0, 0, 0, 2, 0x41, 0, 0, 2, 0x41, 1];
    let au1 = [0x79, 0, 2, 0, 2, 0x41, 2, 0, 2, 0x41, 3];
    let mut out = Vec::new();
    let mut drops = Vec::new();
    d.push(&au0, 0, true, false, &mut out, &mut drops);
    d.push(&au1, 3000, true, false, &mut out, &mut drops);
    d.drain(&mut out, &mut drops);
    let got: Vec<(u8, u64, bool)> = out
        .iter()
        .map(|o| match &o.data {
            NalData::Owned(v) => (v[1], o.timestamp, o.marker),
            NalData::Payload(_) => unreachable!(),
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (0, 0, false),
            (1, 0, true),
            (2, 3000, false),
            (3, 3000, true)
        ]
    );
    assert!(drops.is_empty());
}

#[test]
fn fragments_with_a_stepped_timestamp_are_reassembled() {
    // A sender that puts RTP ts + 1 on later FU-A fragments breaks §5.8; the NAL unit is
    // still whole, so it comes out with the start fragment's timestamp.
    let mut d = H264Depacketizer::default();
    let mut out = Vec::new();
    let mut drops = Vec::new();
    for (payload, ts) in [
        (&[0x7c, 0x81, 1][..], 9000),
        (&[0x7c, 0x01, 2], 9001),
        (&[0x7c, 0x41, 3], 9001),
    ] {
        d.push(payload, ts, false, false, &mut out, &mut drops);
    }
    assert!(drops.is_empty(), "{drops:?}");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].data, NalData::Owned(vec![0x61, 1, 2, 3]));
    assert_eq!(out[0].timestamp, 9000);
}
