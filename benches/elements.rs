// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Elements through a GStreamer harness: the whole per-buffer path of the base classes
//! (caps, header writing or parsing, buffer lists, statistics) plus the codec glue.
//! `cargo bench --bench elements`. For ours-vs-C figures see `examples/side_by_side.rs`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

fn g722_buffer(i: u64) -> gst::Buffer {
    let mut b = gst::Buffer::from_mut_slice(vec![(i & 0xff) as u8; 160]);
    b.get_mut()
        .unwrap()
        .set_pts(gst::ClockTime::from_mseconds(20 * i));
    b
}

fn rtp_packet(seq: u16, payload_len: usize) -> gst::Buffer {
    let mut p = vec![0x80, 9];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 1]);
    p.resize(12 + payload_len, 0x55);
    gst::Buffer::from_mut_slice(p)
}

fn bench(c: &mut Criterion) {
    gst::init().unwrap();
    gstrtp2::plugin_register_static().unwrap();
    const PACKETS: u64 = 500;
    let mut group = c.benchmark_group("elements");
    group.throughput(Throughput::Elements(PACKETS));
    group.bench_function("rtpg722pay2_20ms", |b| {
        b.iter_batched(
            || {
                let mut h = gst_check::Harness::new("rtpg722pay2");
                h.set_src_caps_str("audio/G722,rate=16000,channels=1");
                let input: Vec<gst::Buffer> = (0..PACKETS).map(g722_buffer).collect();
                (h, input)
            },
            |(mut h, input)| {
                for buffer in input {
                    h.push(buffer).unwrap();
                    black_box(h.pull().unwrap());
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("rtpg722depay2_20ms", |b| {
        b.iter_batched(
            || {
                let mut h = gst_check::Harness::new("rtpg722depay2");
                h.set_src_caps_str(
                    "application/x-rtp,media=audio,clock-rate=8000,encoding-name=G722,payload=9",
                );
                let input: Vec<gst::Buffer> =
                    (0..PACKETS).map(|i| rtp_packet(i as u16, 160)).collect();
                (h, input)
            },
            |(mut h, input)| {
                for buffer in input {
                    h.push(buffer).unwrap();
                    black_box(h.pull().unwrap());
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
