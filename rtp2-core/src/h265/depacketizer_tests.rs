// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Tests of the RFC 7798 depacketizer, packets built by hand from the RFC's byte layouts.

use super::*;

use crate::naldepack::test_support::run;

fn drained(d: &mut H265Depacketizer) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    d.drain(&mut out, &mut Vec::new());
    out.into_iter()
        .map(|o| match o.data {
            NalData::Owned(v) => v,
            NalData::Payload(_) => unreachable!(),
        })
        .collect()
}

#[test]
fn single_ap_and_fu() {
    let mut d = H265Depacketizer::default();
    let ap = [0x60, 0x01, 0, 3, 0x40, 0x01, 7, 0, 3, 0x42, 0x01, 8];
    let (nals, drops) = run(
        &mut d,
        &[
            (&[0x02, 0x01, 9], 0, true, false),
            (&ap, 1, false, false),
            (&[0x62, 0x01, 0x93, 1, 2], 1, false, false),
            (&[0x62, 0x01, 0x13, 3], 1, false, false),
            (&[0x62, 0x01, 0x53, 4], 1, true, false),
        ],
    );
    assert!(drops.is_empty(), "{drops:?}");
    assert_eq!(
        nals,
        vec![
            vec![0x02, 0x01, 9],
            vec![0x40, 0x01, 7],
            vec![0x42, 0x01, 8],
            vec![0x26, 0x01, 1, 2, 3, 4]
        ]
    );
}

#[test]
fn loss_inside_a_fragmented_nal_drops_it_whole() {
    let mut d = H265Depacketizer::default();
    let (nals, drops) = run(
        &mut d,
        &[
            (&[0x62, 0x01, 0x93, 1], 0, false, false),
            (&[0x62, 0x01, 0x53, 3], 0, true, true),
            (&[0x02, 0x01, 7], 1, true, false),
        ],
    );
    assert_eq!(nals, vec![vec![0x02, 0x01, 7]]);
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
    let mut d = H265Depacketizer::new(DepacketizerConfig {
        max_nal_size: 8,
        ..Default::default()
    });
    let cases: Vec<(&[u8], DropReason)> = vec![
        (&[], DropReason::EmptyPayload),
        (&[0x02], DropReason::EmptyPayload),
        (&[0x82, 0x01, 1], DropReason::ForbiddenBit),
        (&[0x66, 0x01, 1], DropReason::UnsupportedType(51)),
        (&[0x7e, 0x01, 1], DropReason::UnsupportedType(63)),
        (&[0x60, 0x01, 0, 0], DropReason::BadAggregation(48)),
        (&[0x60, 0x01, 0, 9, 1], DropReason::BadAggregation(48)),
        (&[0x60, 0x01], DropReason::BadAggregation(48)),
        (
            &[0x60, 0x01, 0, 2, 0x60, 0x01],
            DropReason::UnsupportedType(48),
        ),
        (&[0x62, 0x01, 0xd3, 1], DropReason::FragmentStartAndEnd),
        (&[0x62, 0x01, 0x13, 1], DropReason::FragmentWithoutStart),
        (&[0x62, 0x01, 0xb1, 1], DropReason::UnsupportedType(49)),
        (&[0x62, 0x01], DropReason::EmptyPayload),
        (&[0x64, 0x01, 0x64], DropReason::BadPaci),
        (&[0x64, 0x01, 0x00, 0xf0, 0, 0], DropReason::BadPaci),
        // PACI nesting PACI.
        (&[0x64, 0x01, 0x64, 0x00, 0, 0], DropReason::BadPaci),
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
            (&[0x62, 0x01, 0x93, 1], 0, false, false),
            (&[0x62, 0x01, 0x41, 2], 0, false, false),
        ],
    );
    assert!(nals.is_empty());
    assert_eq!(drops, vec![DropReason::FragmentMismatch]);
    let (nals, drops) = run(
        &mut d,
        &[
            (&[0x62, 0x01, 0x93, 1, 2, 3, 4], 0, false, false),
            (&[0x62, 0x01, 0x13, 5, 6, 7, 8], 0, false, false),
            (&[0x62, 0x01, 0x13, 9], 0, false, false),
            (&[0x62, 0x01, 0x53, 9], 0, false, false),
        ],
    );
    assert!(nals.is_empty());
    assert_eq!(drops, vec![DropReason::FragmentedNalTooLarge(8)]);
}

#[test]
fn paci_payload_is_extracted() {
    let mut d = H265Depacketizer::default();
    // PACI (type 50) with cType 1 (TRAIL_R), PHSsize 2, then the NAL unit payload.
    let single = [0x64, 0x01, 0x02, 0x20, 0xaa, 0xbb, 5, 6];
    // PACI around an AP (cType 48), PHSsize 0.
    let ap = [
        0x64, 0x01, 0x60, 0x00, 0, 3, 0x02, 0x01, 7, 0, 3, 0x02, 0x01, 8,
    ];
    // PACI around FU start and end fragments (cType 49).
    let fu_start = [0x64, 0x01, 0x62, 0x00, 0x93, 1];
    let fu_end = [0x64, 0x01, 0x62, 0x00, 0x53, 2];
    let (nals, drops) = run(
        &mut d,
        &[
            (&single, 0, true, false),
            (&ap, 1, true, false),
            (&fu_start, 2, false, false),
            (&fu_end, 2, true, false),
        ],
    );
    assert!(drops.is_empty(), "{drops:?}");
    assert_eq!(
        nals,
        vec![
            vec![0x02, 0x01, 5, 6],
            vec![0x02, 0x01, 7],
            vec![0x02, 0x01, 8],
            vec![0x26, 0x01, 1, 2]
        ]
    );
}

#[test]
fn donl_fields_give_decoding_order() {
    let mut d = H265Depacketizer::new(DepacketizerConfig {
        max_don_diff: 4,
        depack_buf_nalus: 8,
        ..Default::default()
    });
    // Transmission order: DON 2 (single), AP with DON 0 and 1 (DOND 0), FU DON 3.
    let single = [0x02, 0x01, 0, 2, 0xc2];
    let ap = [
        0x60, 0x01, 0, 0, 0, 3, 0x02, 0x01, 0xc0, 0, 0, 3, 0x02, 0x01, 0xc1,
    ];
    let fu_start = [0x62, 0x01, 0x81, 0, 3, 0xc3];
    let fu_end = [0x62, 0x01, 0x41, 0xc4];
    let (mut nals, drops) = run(
        &mut d,
        &[
            (&single, 0, false, false),
            (&ap, 0, false, false),
            (&fu_start, 0, false, false),
            (&fu_end, 0, false, false),
        ],
    );
    assert!(drops.is_empty(), "{drops:?}");
    nals.extend(drained(&mut d));
    assert_eq!(
        nals,
        vec![
            vec![0x02, 0x01, 0xc0],
            vec![0x02, 0x01, 0xc1],
            vec![0x02, 0x01, 0xc2],
            vec![0x02, 0x01, 0xc3, 0xc4]
        ]
    );
}

#[test]
fn don_diff_releases_without_waiting_for_the_end() {
    let mut d = H265Depacketizer::new(DepacketizerConfig {
        max_don_diff: 1,
        ..Default::default()
    });
    let mut released = 0;
    for don in [1u16, 0, 3, 2, 5, 4, 7, 6] {
        let [hi, lo] = don.to_be_bytes();
        let (nals, drops) = run(
            &mut d,
            &[(&[0x02, 0x01, hi, lo, don as u8], 0, false, false)],
        );
        assert!(drops.is_empty());
        released += nals.len();
    }
    assert!(released >= 5, "only {released} released");
    assert!(d.held_nals() <= 3);
}

#[test]
fn marker_stays_with_its_nal_unit_in_decoding_order() {
    let mut d = H265Depacketizer::new(DepacketizerConfig {
        max_don_diff: 1,
        ..Default::default()
    });
    // Single NAL unit packets with DONL (§4.4.1): [payload header][DONL][payload]; two
    // pictures of two slices, the last slice of each in a packet with the marker bit,
    // the pictures' packets swapped pairwise.
    let slice = |don: u8| [0x02, 0x01, 0, don, don];
    let mut out = Vec::new();
    let mut drops = Vec::new();
    for (don, ts, marker) in [
        (1u8, 0, true),
        (0, 0, false),
        (3, 3000, true),
        (2, 3000, false),
    ] {
        d.push(&slice(don), ts, marker, false, &mut out, &mut drops);
    }
    d.drain(&mut out, &mut drops);
    let got: Vec<(u8, bool)> = out
        .iter()
        .map(|o| match &o.data {
            NalData::Owned(v) => (v[2], o.marker),
            NalData::Payload(_) => unreachable!(),
        })
        .collect();
    assert_eq!(got, vec![(0, false), (1, true), (2, false), (3, true)]);
    assert!(drops.is_empty());
}

#[test]
fn fragments_with_a_stepped_timestamp_are_reassembled() {
    let mut d = H265Depacketizer::default();
    let (nals, drops) = run(
        &mut d,
        &[
            (&[0x62, 0x01, 0x81, 1], 0, false, false),
            (&[0x62, 0x01, 0x01, 2], 1, false, false),
            (&[0x62, 0x01, 0x41, 3], 1, true, false),
        ],
    );
    assert!(drops.is_empty(), "{drops:?}");
    assert_eq!(nals, vec![vec![0x02, 0x01, 1, 2, 3]]);
}
