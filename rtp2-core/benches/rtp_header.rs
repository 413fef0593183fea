// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RTP header parsing and writing, the per-packet work of every element.
//! `cargo bench -p rtp2-core --bench rtp_header`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rtp2_core::hdrext::{ExtensionForm, ExtensionWriter, parse_elements};
use rtp2_core::rtp::{RtpHeader, RtpPacket, header_len, write_header};

fn packet(ext: bool) -> Vec<u8> {
    let header = RtpHeader {
        marker: true,
        payload_type: 96,
        sequence_number: 4242,
        timestamp: 0x1234_5678,
        ssrc: 0xdead_beef,
    };
    let extension = ext.then(|| {
        let mut w = ExtensionWriter::new(ExtensionForm::OneByte);
        w.push(1, &[0x85]).unwrap();
        w.push(3, &[0x12, 0x34]).unwrap();
        w.finish().unwrap()
    });
    let ext_ref = extension.as_ref().map(|(p, d)| (*p, d.as_slice()));
    let mut out = vec![0u8; header_len(2, ext_ref.map(|(_, d)| d.len())) + 1200];
    write_header(&mut out, &header, &[1, 2], ext_ref).unwrap();
    out
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("rtp_header");
    group.throughput(Throughput::Elements(1));
    let plain = packet(false);
    let with_ext = packet(true);
    group.bench_function("parse", |b| {
        b.iter(|| RtpPacket::parse(black_box(&plain)).map(|p| p.payload().len()))
    });
    group.bench_function("parse_with_extension_elements", |b| {
        b.iter(|| {
            let p = RtpPacket::parse(black_box(&with_ext)).unwrap();
            let (profile, data) = p.extension().unwrap();
            parse_elements(profile, data).unwrap().count()
        })
    });
    let header = RtpHeader {
        marker: false,
        payload_type: 9,
        sequence_number: 1,
        timestamp: 160,
        ssrc: 7,
    };
    let mut out = [0u8; 12];
    group.bench_function("write_fixed_header", |b| {
        b.iter(|| write_header(black_box(&mut out), black_box(&header), &[], None))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
