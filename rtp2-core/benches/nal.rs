// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The RFC 6184 (H.264) and RFC 7798 (H.265) packetizers and depacketizers on two shapes of
//! stream: a high-bitrate 1080p access unit whose slices fragment (FU-A / FU), and small NAL
//! units that aggregate (STAP-A / AP).
//! `cargo bench -p rtp2-core --bench nal`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rtp2_core::h264::depacketizer::H264Depacketizer;
use rtp2_core::h264::packetizer::H264Format;
use rtp2_core::h265::depacketizer::H265Depacketizer;
use rtp2_core::h265::packetizer::H265Format;
use rtp2_core::naldepack::{Depacketize, NalData};
use rtp2_core::nalpack::{
    AggregateMode, Chunk, NalFormat, NalPacketizer, NalRef, PacketPlan, PacketizationMode,
    PacketizerConfig,
};

/// A NAL unit of `len` bytes with this header (the H.264 header is one byte).
fn nal(header: &[u8], len: usize) -> Vec<u8> {
    let mut v = header.to_vec();
    v.extend((0..len - header.len()).map(|i| (i * 7 + 3) as u8 | 1));
    v
}

/// A 1080p keyframe access unit at ~20 Mbit/s: parameter sets, 4 slices of 60 kB.
fn big_au(sets: &[&[u8]], slice: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = sets.iter().map(|h| nal(h, 24)).collect();
    v.extend((0..4).map(|_| nal(slice, 60_000)));
    v
}

/// An access unit of many small NAL units (AUD, SEI, slices of a low-bitrate stream).
fn small_au(aud: &[u8], sei: &[u8], slice: &[u8]) -> Vec<Vec<u8>> {
    let mut v = vec![nal(aud, 3), nal(sei, 40)];
    v.extend((0..8).map(|_| nal(slice, 120)));
    v
}

fn packetize<F: NalFormat>(nals: &[Vec<u8>], aggregate: AggregateMode) -> Vec<PacketPlan> {
    let mut p = NalPacketizer::<F>::new(PacketizerConfig {
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
                    _ => unreachable!("chunk kind unknown to this benchmark"),
                }
            }
            out
        })
        .collect()
}

fn bench_codec<F: NalFormat, D: Depacketize + Default>(
    c: &mut Criterion,
    codec: &str,
    streams: [(&str, Vec<Vec<u8>>, AggregateMode); 2],
) {
    for (name, nals, aggregate) in streams {
        let plans = packetize::<F>(&nals, aggregate);
        let packets = render(&plans, &nals);
        let mut group = c.benchmark_group(format!("{codec}/{name}"));
        group.throughput(Throughput::Elements(packets.len() as u64));
        group.bench_function("packetize", |b| {
            b.iter(|| packetize::<F>(black_box(&nals), aggregate).len())
        });
        group.bench_function("depacketize", |b| {
            b.iter(|| {
                let mut d = D::default();
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
                        _ => 0,
                    })
                    .sum::<usize>()
            })
        });
        group.finish();
    }
}

/// A NAL unit of `len` pseudo-random bytes (like entropy-coded slice data, zeros included),
/// with emulation prevention bytes so that no `00 00 0x` (x ≤ 3) appears inside.
fn random_nal(header: u8, len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = vec![header];
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let byte = (x >> 24) as u8;
        if byte <= 3 && v.ends_with(&[0, 0]) {
            v.push(3);
        }
        v.push(byte);
    }
    v
}

/// Finding the NAL units of an Annex B access unit (what a payloader does first with each
/// byte-stream input buffer).
fn bench_annexb_scan(c: &mut Criterion) {
    let big: Vec<Vec<u8>> = (0..4u32).map(|i| random_nal(0x65, 60_000, i + 1)).collect();
    let small: Vec<Vec<u8>> = (0..8u32).map(|i| random_nal(0x41, 120, i + 1)).collect();
    for (name, nals) in [("1080p_au", big), ("small_au", small)] {
        let mut stream = Vec::new();
        for n in &nals {
            rtp2_core::nal::push_annexb(&mut stream, n);
        }
        let mut group = c.benchmark_group(format!("annexb_scan/{name}"));
        group.throughput(Throughput::Bytes(stream.len() as u64));
        group.bench_function("nal_ranges", |b| {
            b.iter(|| rtp2_core::nal::annexb_nal_ranges(black_box(&stream)))
        });
        group.finish();
    }
}

fn bench(c: &mut Criterion) {
    bench_annexb_scan(c);
    bench_codec::<H264Format, H264Depacketizer>(
        c,
        "h264",
        [
            (
                "1080p_fragmenting",
                big_au(&[&[0x67], &[0x68]], &[0x65]),
                AggregateMode::None,
            ),
            (
                "small_nal_aggregating",
                small_au(&[0x09], &[0x06], &[0x41]),
                AggregateMode::MaxStap,
            ),
        ],
    );
    bench_codec::<H265Format, H265Depacketizer>(
        c,
        "h265",
        [
            (
                "1080p_fragmenting",
                big_au(
                    &[&[0x40, 0x01], &[0x42, 0x01], &[0x44, 0x01]],
                    &[0x26, 0x01],
                ),
                AggregateMode::None,
            ),
            (
                "small_nal_aggregating",
                small_au(&[0x46, 0x01], &[0x4e, 0x01], &[0x02, 0x01]),
                AggregateMode::MaxStap,
            ),
        ],
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
