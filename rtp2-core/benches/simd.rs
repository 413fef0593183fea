// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Batch write and parse of 64 RTP fixed headers at every SIMD level this CPU has.
//! `cargo bench -p rtp2-core --bench simd`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rtp2_core::hdrsimd::{HeaderTemplate, available, parse_headers, write_headers};

const BATCH: usize = 64;

fn bench(c: &mut Criterion) {
    let template = HeaderTemplate {
        payload_type: 96,
        ssrc: 0x1234_5678,
    };
    let timestamps: Vec<u32> = (0..BATCH as u32).map(|i| i * 3000).collect();
    let markers: Vec<bool> = (0..BATCH).map(|i| i % 8 == 7).collect();
    let mut headers = vec![[0u8; 12]; BATCH];
    let mut group = c.benchmark_group("simd/write_headers");
    group.throughput(Throughput::Elements(BATCH as u64));
    for level in available().iter().copied() {
        group.bench_function(level.name(), |b| {
            b.iter(|| {
                write_headers(
                    level,
                    &template,
                    black_box(65500),
                    black_box(&timestamps),
                    &markers,
                    &mut headers,
                )
            })
        });
    }
    group.finish();

    let packets: Vec<Vec<u8>> = headers
        .iter()
        .map(|h| {
            let mut p = h.to_vec();
            p.extend_from_slice(&[0u8; 100]);
            p
        })
        .collect();
    let slices: Vec<&[u8]> = packets.iter().map(Vec::as_slice).collect();
    let mut out = Vec::with_capacity(BATCH);
    let mut group = c.benchmark_group("simd/parse_headers");
    group.throughput(Throughput::Elements(BATCH as u64));
    for level in available().iter().copied() {
        group.bench_function(level.name(), |b| {
            b.iter(|| {
                parse_headers(level, black_box(&slices), &mut out);
                out.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
