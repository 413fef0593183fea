// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Property tests: packetizer then depacketizer gives back the NAL units, and with losses
//! never yields a NAL unit that was not sent.

use proptest::prelude::*;

use super::depacketizer::{DepacketizerConfig, H264Depacketizer, NalData};
use super::packetizer::{
    AggregateMode, Chunk, H264Packetizer, NalRef, PacketPlan, PacketizationMode, PacketizerConfig,
};

fn nal_strategy() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![Just(1u8), Just(5), Just(6), Just(7), Just(8), Just(9)],
        0u8..4,
        proptest::collection::vec(any::<u8>(), 0..3000),
    )
        .prop_map(|(t, nri, body)| {
            let mut nal = vec![(nri << 5) | t];
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
fn packetize(
    nals: &[Vec<u8>],
    au_size: usize,
    max: usize,
    aggregate: AggregateMode,
) -> Vec<(Vec<u8>, u64, bool)> {
    let mut p = H264Packetizer::new(PacketizerConfig {
        max_payload: max,
        mode: PacketizationMode::NonInterleaved,
        aggregate,
    });
    let mut packets = Vec::new();
    for (i, nal) in nals.iter().enumerate() {
        let mut plans = Vec::new();
        let end_of_au = i % au_size == au_size - 1 || i == nals.len() - 1;
        p.push(NalRef::new(i, nal), end_of_au, &mut plans).unwrap();
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

fn depacketize(packets: &[(Vec<u8>, u64, bool)], lost: &[bool]) -> Vec<Vec<u8>> {
    let mut d = H264Depacketizer::new(DepacketizerConfig::default());
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip_every_mode(
        nals in proptest::collection::vec(nal_strategy(), 1..12),
        au_size in 1usize..5,
        max in prop_oneof![Just(100usize), Just(400), Just(1188), Just(8988)],
        aggregate in prop_oneof![Just(AggregateMode::None), Just(AggregateMode::ZeroLatency), Just(AggregateMode::MaxStap)],
    ) {
        let packets = packetize(&nals, au_size, max, aggregate);
        // The marker is on the last packet of every access unit and nowhere else.
        let markers = packets.iter().filter(|p| p.2).count();
        prop_assert_eq!(markers, nals.len().div_ceil(au_size));
        prop_assert_eq!(depacketize(&packets, &[]), nals);
    }

    #[test]
    fn losses_never_produce_a_nal_that_was_not_sent(
        nals in proptest::collection::vec(nal_strategy(), 1..12),
        max in prop_oneof![Just(100usize), Just(400), Just(1188)],
        lost in proptest::collection::vec(any::<bool>(), 0..200),
    ) {
        let packets = packetize(&nals, 3, max, AggregateMode::MaxStap);
        let got = depacketize(&packets, &lost);
        let mut next = 0;
        for nal in &got {
            // In order, and each one byte-identical to a NAL unit that was sent.
            let found = nals[next..].iter().position(|n| n == nal);
            prop_assert!(found.is_some(), "a NAL unit that was never sent came out");
            next += found.unwrap_or(0) + 1;
        }
    }
}
