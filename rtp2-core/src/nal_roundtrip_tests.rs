// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Property tests for H.264 and H.265: packetizer then depacketizer gives back the NAL units,
//! and with losses never yields a NAL unit that was not sent.

use proptest::prelude::*;

use crate::h264::depacketizer::H264Depacketizer;
use crate::h265::depacketizer::H265Depacketizer;
use crate::naldepack::{Depacketize, NalData};
use crate::nalpack::{
    AggregateMode, Chunk, NalFormat, NalPacketizer, NalRef, PacketPlan, PacketizationMode,
    PacketizerConfig,
};

/// The depacketizer of a codec, as the tests drive it.
trait Depacketizer: Depacketize + Default {}
impl<D: Depacketize + Default> Depacketizer for D {}

/// H.264 NAL units: slices, IDR, SEI, SPS, PPS, filler data with any NRI. (No access unit
/// delimiter: it starts an access unit, which the test's fixed-size units would contradict.)
fn h264_nal() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just(1u8), Just(5), Just(6), Just(7), Just(8), Just(12)],
        0u8..4,
        proptest::collection::vec(any::<u8>(), 0..3000),
    )
        .prop_map(|(t, nri, body)| {
            let mut nal = vec![(nri << 5) | t];
            nal.extend(body);
            nal
        })
}

/// H.265 NAL units: trailing, IDR, CRA, VPS, SPS, PPS, SEI with any layer and TID 1–7.
fn h265_nal() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![
            Just(1u8),
            Just(19),
            Just(21),
            Just(32),
            Just(33),
            Just(34),
            Just(39)
        ],
        0u8..64,
        1u8..8,
        proptest::collection::vec(any::<u8>(), 0..3000),
    )
        .prop_map(|(t, layer, tid, body)| {
            let mut nal = crate::h265::make_header(false, t, layer, tid).to_vec();
            nal.extend(body);
            nal
        })
}

fn render(plan: &PacketPlan, nals: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in &plan.chunks {
        match c {
            Chunk::Bytes(b) => out.extend_from_slice(b.as_slice()),
            Chunk::Nal { id, range } => out.extend_from_slice(&nals[*id][range.clone()]),
        }
    }
    out
}

/// Packetizes access units of `au_size` NAL units; returns (payload, ts, marker) packets.
fn packetize<F: NalFormat>(
    nals: &[Vec<u8>],
    au_size: usize,
    max: usize,
    aggregate: AggregateMode,
) -> Vec<(Vec<u8>, u64, bool)> {
    let mut p = NalPacketizer::<F>::new(PacketizerConfig {
        max_payload: max,
        mode: PacketizationMode::NonInterleaved,
        aggregate,
    });
    let mut packets = Vec::new();
    for (i, nal) in nals.iter().enumerate() {
        let mut plans = Vec::new();
        let end_of_au = i % au_size == au_size - 1 || i == nals.len() - 1;
        p.push(NalRef::new(i, nal), end_of_au, &mut plans).unwrap();
        if i % 2 == 1 {
            // Every other NAL unit ends an input buffer (zero-latency sends there).
            p.end_input(&mut plans);
        }
        for plan in plans {
            let payload = render(&plan, nals);
            assert!(payload.len() <= max, "payload {} > {max}", payload.len());
            packets.push((
                payload,
                (plan.first_nal / au_size) as u64 * 3000,
                plan.marker,
            ));
        }
    }
    let mut plans = Vec::new();
    p.flush(true, &mut plans);
    assert!(plans.is_empty(), "nothing held after the last access unit");
    packets
}

fn depacketize<D: Depacketizer>(packets: &[(Vec<u8>, u64, bool)], lost: &[bool]) -> Vec<Vec<u8>> {
    let mut d = D::default();
    let mut nals = Vec::new();
    let mut drops = Vec::new();
    let mut discont = false;
    for (i, (payload, ts, marker)) in packets.iter().enumerate() {
        if lost.get(i).copied().unwrap_or(false) {
            discont = true;
            continue;
        }
        let mut out = Vec::new();
        d.push(
            payload,
            *ts,
            *marker,
            std::mem::take(&mut discont),
            &mut out,
            &mut drops,
        );
        for o in out {
            nals.push(match o.data {
                NalData::Payload(r) => payload[r].to_vec(),
                NalData::Owned(v) => v,
            });
        }
    }
    nals
}

fn check_round_trip<F: NalFormat, D: Depacketizer>(
    nals: &[Vec<u8>],
    au_size: usize,
    max: usize,
    aggregate: AggregateMode,
) -> Result<(), TestCaseError> {
    let packets = packetize::<F>(nals, au_size, max, aggregate);
    // The marker is on the last packet of every access unit and nowhere else.
    let markers = packets.iter().filter(|p| p.2).count();
    prop_assert_eq!(markers, nals.len().div_ceil(au_size));
    prop_assert_eq!(depacketize::<D>(&packets, &[]), nals);
    Ok(())
}

fn check_losses<F: NalFormat, D: Depacketizer>(
    nals: &[Vec<u8>],
    max: usize,
    lost: &[bool],
) -> Result<(), TestCaseError> {
    let packets = packetize::<F>(nals, 3, max, AggregateMode::MaxStap);
    let got = depacketize::<D>(&packets, lost);
    let mut next = 0;
    for nal in &got {
        // In order, and each one byte-identical to a NAL unit that was sent.
        let found = nals[next..].iter().position(|n| n == nal);
        prop_assert!(found.is_some(), "a NAL unit that was never sent came out");
        next += found.unwrap_or(0) + 1;
    }
    Ok(())
}

fn aggregate_mode() -> impl Strategy<Value = AggregateMode> {
    prop_oneof![
        Just(AggregateMode::None),
        Just(AggregateMode::ZeroLatency),
        Just(AggregateMode::MaxStap)
    ]
}

fn payload_size() -> impl Strategy<Value = usize> {
    prop_oneof![Just(100usize), Just(400), Just(1188), Just(8988)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn h264_round_trip_every_mode(
        nals in proptest::collection::vec(h264_nal(), 1..12),
        au_size in 1usize..5,
        max in payload_size(),
        aggregate in aggregate_mode(),
    ) {
        check_round_trip::<crate::h264::packetizer::H264Format, H264Depacketizer>(
            &nals, au_size, max, aggregate,
        )?;
    }

    #[test]
    fn h265_round_trip_every_mode(
        nals in proptest::collection::vec(h265_nal(), 1..12),
        au_size in 1usize..5,
        max in payload_size(),
        aggregate in aggregate_mode(),
    ) {
        check_round_trip::<crate::h265::packetizer::H265Format, H265Depacketizer>(
            &nals, au_size, max, aggregate,
        )?;
    }

    #[test]
    fn h264_losses_never_produce_a_nal_that_was_not_sent(
        nals in proptest::collection::vec(h264_nal(), 1..12),
        max in payload_size(),
        lost in proptest::collection::vec(any::<bool>(), 0..200),
    ) {
        check_losses::<crate::h264::packetizer::H264Format, H264Depacketizer>(&nals, max, &lost)?;
    }

    #[test]
    fn h265_losses_never_produce_a_nal_that_was_not_sent(
        nals in proptest::collection::vec(h265_nal(), 1..12),
        max in payload_size(),
        lost in proptest::collection::vec(any::<bool>(), 0..200),
    ) {
        check_losses::<crate::h265::packetizer::H265Format, H265Depacketizer>(&nals, max, &lost)?;
    }
}
