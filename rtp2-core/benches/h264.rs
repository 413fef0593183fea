// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The RFC 6184 packetizer and depacketizer on two shapes of stream: a high-bitrate 1080p
//! access unit whose slices fragment (FU-A), and small NAL units that aggregate (STAP-A).
//! `cargo bench -p rtp2-core --bench h264`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rtp2_core::h264::depacketizer::{H264Depacketizer, NalData};
use rtp2_core::h264::packetizer::{
    AggregateMode, Chunk, H264Packetizer, NalRef, PacketPlan, PacketizationMode, PacketizerConfig,
};

fn nal(kind: u8, len: usize) -> Vec<u8> {
    let mut v = vec![0x60 | kind];
    v.extend((0..len - 1).map(|i| (i * 7 + 3) as u8 | 1));
    v
}

/// A 1080p IDR access unit at ~20 Mbit/s: SPS, PPS, 4 slices of 60 kB.
fn big_au() -> Vec<Vec<u8>> {
    let mut v = vec![nal(7, 24), nal(8, 5)];
    v.extend((0..4).map(|_| nal(5, 60_000)));
    v
}

/// An access unit of many small NAL units (SEI, slices of a low-bitrate stream).
fn small_au() -> Vec<Vec<u8>> {
    let mut v = vec![nal(9, 2), nal(6, 40)];
    v.extend((0..8).map(|_| nal(1, 120)));
    v
}

fn packetize(nals: &[Vec<u8>], aggregate: AggregateMode) -> Vec<PacketPlan> {
    let mut p = H264Packetizer::new(PacketizerConfig {
        max_payload: 1388,
        mode: PacketizationMode::NonInterleaved,
        aggregate,
    });
    let mut plans = Vec::new();
    for (id, n) in nals.iter().enumerate() {
        let nal_ref = NalRef::new(id, n);
        p.push(nal_ref, id + 1 == nals.len(), &mut plans).unwrap();
    }
    plans
}

fn render(plans: &[PacketPlan], nals: &[Vec<u8>]) -> Vec<Vec<u8>> {
    plans
        .iter()
        .map(|plan| {
            let mut out = Vec::new();
            for c in &plan.chunks {
                match c {
                    Chunk::Bytes(b) => out.extend_from_slice(b.as_slice()),
                    Chunk::Nal { id, range } => out.extend_from_slice(&nals[*id][range.clone()]),
                }
            }
            out
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    for (name, nals, aggregate) in [
        ("1080p_fragmenting", big_au(), AggregateMode::None),
        ("small_nal_aggregating", small_au(), AggregateMode::MaxStap),
    ] {
        let plans = packetize(&nals, aggregate);
        let packets = render(&plans, &nals);
        let mut group = c.benchmark_group(format!("h264/{name}"));
        group.throughput(Throughput::Elements(packets.len() as u64));
        group.bench_function("packetize", |b| {
            b.iter(|| packetize(black_box(&nals), aggregate).len())
        });
        group.bench_function("depacketize", |b| {
            b.iter(|| {
                let mut d = H264Depacketizer::default();
                let (mut out, mut drops) = (Vec::new(), Vec::new());
                for (i, p) in packets.iter().enumerate() {
                    d.push(
                        black_box(p),
                        0,
                        i + 1 == packets.len(),
                        false,
                        &mut out,
                        &mut drops,
                    );
                }
                out.iter()
                    .map(|n| match &n.data {
                        NalData::Payload(r) => r.len(),
                        NalData::Owned(v) => v.len(),
                    })
                    .sum::<usize>()
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
