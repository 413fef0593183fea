// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Writes the fuzz seed corpora (fuzz/corpus/<target>/) from real streams: x264enc and
//! x265enc output packetized by our payloaders and the C ones, their codec_data and parameter
//! sets, and G.729 frames. Packet sequences use the framing of fuzz/fuzz_targets/common.rs.
//!
//! `cargo run --release --example fuzz_seeds` (scripts/fuzz.sh runs it when a corpus is empty)

use std::path::Path;

use gst::prelude::*;

fn collect(launch: &str) -> (Vec<gst::Buffer>, Option<gst::Caps>) {
    let pipeline = gst::parse::launch(launch)
        .expect("pipeline")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    let sink = pipeline
        .by_name("sink")
        .expect("sink")
        .downcast::<gst_app::AppSink>()
        .expect("appsink");
    pipeline.set_state(gst::State::Playing).expect("playing");
    let mut buffers = Vec::new();
    let mut caps = None;
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(30)) {
        caps = sample.caps().map(|c| c.to_owned());
        if let Some(b) = sample.buffer_owned() {
            buffers.push(b);
        }
    }
    pipeline.set_state(gst::State::Null).expect("null");
    (buffers, caps)
}

/// RTP packets as the fuzz framing: length, flags (marker, timestamp step), payload.
fn framed(packets: &[gst::Buffer]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut last_ts = None;
    for p in packets {
        let map = p.map_readable().expect("readable");
        let Ok(rtp) = rtp2_core::rtp::RtpPacket::parse(&map) else {
            continue;
        };
        let payload = rtp.payload();
        let step = if last_ts.is_some_and(|t| t != rtp.timestamp()) {
            1
        } else {
            0
        };
        last_ts = Some(rtp.timestamp());
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        out.push(u8::from(rtp.marker()) | (step << 2));
        out.extend_from_slice(payload);
    }
    out
}

fn write(dir: &Path, name: &str, data: &[u8]) {
    std::fs::create_dir_all(dir).expect("corpus dir");
    std::fs::write(dir.join(name), data).expect("seed written");
}

fn main() {
    gst::init().expect("gst init");
    gstrtp2::plugin_register_static().expect("register rtp2");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (codec, encoder, pays) in [
        (
            "h264",
            "x264enc speed-preset=ultrafast key-int-max=5 ! h264parse ! video/x-h264,stream-format=avc,alignment=au",
            [
                "rtph264pay2 mtu=300 aggregate-mode=max-stap",
                "rtph264pay mtu=500",
            ],
        ),
        (
            "h265",
            "x265enc speed-preset=ultrafast key-int-max=5 ! h265parse ! video/x-h265,stream-format=hvc1,alignment=au",
            [
                "rtph265pay2 mtu=300 aggregate-mode=max",
                "rtph265pay mtu=500",
            ],
        ),
    ] {
        let src = "videotestsrc num-buffers=6 pattern=ball ! video/x-raw,width=160,height=120,format=I420,framerate=30/1";
        let (_, caps) = collect(&format!("{src} ! {encoder} ! appsink name=sink"));
        if let Some(data) = caps
            .as_ref()
            .and_then(|c| c.structure(0))
            .and_then(|s| s.get::<gst::Buffer>("codec_data").ok())
        {
            let record = data.map_readable().expect("readable").to_vec();
            write(
                &corpus.join("params"),
                &format!("{codec}-codec-data"),
                &record,
            );
            // The same record with lengthSizeMinusOne = 2 (3-byte NAL lengths): avcC byte 4,
            // hvcC byte 21 (ISO/IEC 14496-15).
            let at = if codec == "h264" { 4 } else { 21 };
            let mut three = record.clone();
            if let Some(b) = three.get_mut(at) {
                *b = (*b & !3) | 2;
                write(
                    &corpus.join("params"),
                    &format!("{codec}-codec-data-3byte"),
                    &three,
                );
            }
        }
        let (samples, _) = collect(&format!("{src} ! {encoder} ! appsink name=sink"));
        if let Some(first) = samples.first() {
            // The first sample with 3-byte NAL lengths instead of 4.
            let map = first.map_readable().expect("readable");
            let mut three = Vec::new();
            if let Ok(ranges) = rtp2_core::nal::length_prefixed_nal_ranges(&map, 4) {
                for r in ranges {
                    three.extend_from_slice(&(r.len() as u32).to_be_bytes()[1..]);
                    three.extend_from_slice(&map[r]);
                }
            }
            write(
                &corpus.join("params"),
                &format!("{codec}-sample-3byte"),
                &three,
            );
        }
        for (i, pay) in pays.iter().enumerate() {
            let (packets, _) = collect(&format!("{src} ! {encoder} ! {pay} ! appsink name=sink"));
            for (j, window) in packets.chunks(24).take(4).enumerate() {
                let seed = framed(window);
                let name = format!("{codec}-{i}-{j}");
                // First byte: the depacketizer mode (0: plain).
                let mut with_mode = vec![0u8];
                with_mode.extend_from_slice(&seed);
                write(
                    &corpus.join(format!("{codec}_depacketizer")),
                    &name,
                    &with_mode,
                );
                write(&corpus.join("simd_differential"), &name, &seed);
            }
            for (j, p) in packets.iter().take(6).enumerate() {
                let map = p.map_readable().expect("readable");
                write(
                    &corpus.join("rtp_header"),
                    &format!("{codec}-{i}-{j}"),
                    &map,
                );
            }
        }
    }
    let g729 = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/g729/sine_vad.g729"),
    )
    .unwrap_or_default();
    for (j, chunk) in g729.chunks(22).take(8).enumerate() {
        let mut seed = chunk.to_vec();
        seed.resize(25, 0);
        seed.extend_from_slice(chunk);
        write(&corpus.join("audio_framing"), &format!("g729-{j}"), &seed);
    }
    println!("seeds written under {}", corpus.display());
}
