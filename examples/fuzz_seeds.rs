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

/// Payloads in the fuzz framing, each with the marker flag.
fn framed_payloads(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in payloads {
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.push(1);
        out.extend_from_slice(p);
    }
    out
}

/// RFC 6184 §5.7.2 MTAP16 (even) / MTAP24 (odd) packets of two NAL units each (NALU size of
/// the NAL unit alone, DOND, TS offset, NAL unit), and FU-B then FU-A (§5.8) for NAL units
/// over 500 bytes.
fn h264_interleaved(nals: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    let mut don = 0u16;
    let mut small = Vec::new();
    for nal in nals.iter().filter(|n| n.len() > 1) {
        if nal.len() <= 500 {
            small.push((don, nal));
        } else {
            for (i, chunk) in nal[1..].chunks(500).enumerate() {
                let end = (i + 1) * 500 >= nal.len() - 1;
                let mut p = vec![(nal[0] & 0xe0) | if i == 0 { 29 } else { 28 }];
                p.push(u8::from(i == 0) << 7 | u8::from(end) << 6 | (nal[0] & 0x1f));
                if i == 0 {
                    p.extend_from_slice(&don.to_be_bytes());
                }
                p.extend_from_slice(chunk);
                packets.push(p);
            }
        }
        don = don.wrapping_add(1);
    }
    for (j, pair) in small.chunks(2).enumerate() {
        let ts_len = if j % 2 == 0 { 2 } else { 3 };
        let mut p = vec![0x60 | if ts_len == 2 { 26 } else { 27 }];
        p.extend_from_slice(&pair[0].0.to_be_bytes());
        for (k, (d, nal)) in pair.iter().enumerate() {
            p.extend_from_slice(&(nal.len() as u16).to_be_bytes());
            p.push(d.wrapping_sub(pair[0].0) as u8);
            p.extend_from_slice(&vec![0; ts_len - 1]);
            p.push(k as u8);
            p.extend_from_slice(nal);
        }
        packets.push(p);
    }
    packets
}

/// RFC 7798 §4.4.2 APs of two NAL units (DONL, size, NAL unit, DOND, size, NAL unit) and
/// §4.4.3 FUs with DONL for NAL units over 500 bytes.
fn h265_donl(nals: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    let mut small = Vec::new();
    for (don, nal) in nals.iter().enumerate().filter(|(_, n)| n.len() > 2) {
        let don = don as u16;
        if nal.len() <= 500 {
            small.push((don, nal));
            continue;
        }
        for (i, chunk) in nal[2..].chunks(500).enumerate() {
            let end = (i + 1) * 500 >= nal.len() - 2;
            let mut p = vec![(nal[0] & 0x81) | (49 << 1), nal[1]];
            p.push(u8::from(i == 0) << 7 | u8::from(end) << 6 | ((nal[0] >> 1) & 0x3f));
            if i == 0 {
                p.extend_from_slice(&don.to_be_bytes());
            }
            p.extend_from_slice(chunk);
            packets.push(p);
        }
    }
    for pair in small.chunks(2) {
        let mut p = vec![48 << 1, 1];
        for (k, (d, nal)) in pair.iter().enumerate() {
            if k == 0 {
                p.extend_from_slice(&d.to_be_bytes());
            } else {
                p.push(d.wrapping_sub(pair[0].0).wrapping_sub(1) as u8);
            }
            p.extend_from_slice(&(nal.len() as u16).to_be_bytes());
            p.extend_from_slice(nal);
        }
        packets.push(p);
    }
    packets
}

fn write(dir: &Path, name: &str, data: &[u8]) {
    std::fs::create_dir_all(dir).expect("corpus dir");
    std::fs::write(dir.join(name), data).expect("seed written");
}

fn main() {
    gst::init().expect("gst init");
    gstrtp2::plugin_register_static().expect("register rtp2");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    // RFC 7273 values as senders write them (ours, gst-rtsp-server's, AES67's).
    for (i, value) in [
        "ptp=IEEE1588-2008:FE-91-18-FF-FE-B5-42-33:0",
        "ptp=IEEE1588-2008:39-A7-94-FF-FE-07-CB-D0",
        "ntp=[2001:db8::1]:4123",
        "ntp=/traceable/",
        "direct=390032098",
        "direct=0 rate=48000/1",
    ]
    .iter()
    .enumerate()
    {
        write(
            &corpus.join("params"),
            &format!("rfc7273-{i}"),
            value.as_bytes(),
        );
    }
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
    // ULPFEC inside the media stream as GStreamer's C encoder sends it, and RED around it:
    // FEC payloads with the marker flag (the `fec` target's convention), media whole.
    for (name, launch) in [
        (
            "ulpfec",
            "rtph264pay mtu=300 ! rtpulpfecenc pt=122 percentage=50",
        ),
        (
            "red-ulpfec",
            "rtph264pay mtu=300 ! rtpulpfecenc pt=122 percentage=50 ! rtpredenc pt=100 distance=1",
        ),
    ] {
        let src = "videotestsrc num-buffers=3 pattern=ball ! video/x-raw,width=160,height=120,format=I420,framerate=30/1 ! x264enc speed-preset=ultrafast";
        let (packets, _) = collect(&format!("{src} ! {launch} ! appsink name=sink"));
        let mut seed = Vec::new();
        for p in packets.iter().take(40) {
            let map = p.map_readable().expect("readable");
            let Ok(rtp) = rtp2_core::rtp::RtpPacket::parse(&map) else {
                continue;
            };
            let (flag, bytes) = if rtp.payload_type() == 122 {
                (1u8, rtp.payload())
            } else {
                (0u8, &map[..])
            };
            seed.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
            seed.push(flag);
            seed.extend_from_slice(bytes);
        }
        write(&corpus.join("fec"), name, &seed);
    }
    // FlexFEC: H.264 packets from the C payloader protected by our core sender in both
    // wire formats and every protection (the `flexfec` target: first byte = format, repair
    // packets whole with the marker flag, media whole).
    {
        use rtp2_core::fec::flexfec::WireFormat;
        use rtp2_core::fec::flexfec_sender::{FlexfecSender, Protection};
        use rtp2_core::fec::masks::MaskKind;
        let src = "videotestsrc num-buffers=3 pattern=ball ! video/x-raw,width=160,height=120,format=I420,framerate=30/1 ! x264enc speed-preset=ultrafast";
        let (packets, _) = collect(&format!("{src} ! rtph264pay mtu=300 ! appsink name=sink"));
        for (fname, format) in [
            ("03", WireFormat::Flexfec03),
            ("rfc8627", WireFormat::Rfc8627),
        ] {
            for (pname, protection) in [
                (
                    "flexible",
                    Protection::Flexible {
                        kind: MaskKind::Interleaved,
                        percentage: 50,
                        max_frames: 1,
                    },
                ),
                ("row", Protection::Row { l: 4 }),
                ("rowcol", Protection::RowColumn { l: 4, d: 3 }),
                ("coldiag", Protection::ColumnDiagonal { l: 5, d: 4, k: 3 }),
            ] {
                let mut sender = FlexfecSender::new(format, protection, 0xfec, 110, 0);
                let mut seed = vec![u8::from(format == WireFormat::Rfc8627)];
                let mut put = |flag: u8, bytes: &[u8]| {
                    seed.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
                    seed.push(flag);
                    seed.extend_from_slice(bytes);
                };
                for p in packets.iter().take(30) {
                    let map = p.map_readable().expect("readable");
                    let repairs = sender.push(&map);
                    put(0, &map);
                    for r in repairs {
                        put(1, &r);
                    }
                }
                write(&corpus.join("flexfec"), &format!("{fname}-{pname}"), &seed);
            }
        }
    }
    // Decoding-order packets built from the RFC layouts (no payloader makes them).
    let nals_of = |launch: &str| -> Vec<Vec<u8>> {
        let (aus, _) = collect(launch);
        aus.iter()
            .flat_map(|b| {
                let map = b.map_readable().expect("readable");
                rtp2_core::nal::annexb_nal_ranges(&map)
                    .into_iter()
                    .map(|r| map[r].to_vec())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let src = "videotestsrc num-buffers=4 pattern=ball ! video/x-raw,width=160,height=120,format=I420,framerate=30/1";
    let h264 = nals_of(&format!(
        "{src} ! x264enc speed-preset=ultrafast option-string=slices=2 ! h264parse \
         ! video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink"
    ));
    // Mode byte: interleaved, sprop-interleaving-depth 8.
    let mut seed = vec![1 | (8 << 1)];
    seed.extend_from_slice(&framed_payloads(&h264_interleaved(&h264)));
    write(&corpus.join("h264_depacketizer"), "h264-interleaved", &seed);
    let h265 = nals_of(&format!(
        "{src} ! x265enc speed-preset=ultrafast option-string=slices=2 ! h265parse \
         ! video/x-h265,stream-format=byte-stream,alignment=au ! appsink name=sink"
    ));
    // Mode byte: sprop-max-don-diff 4, sprop-depack-buf-nalus 16.
    let mut seed = vec![4 | (2 << 4)];
    seed.extend_from_slice(&framed_payloads(&h265_donl(&h265)));
    write(&corpus.join("h265_depacketizer"), "h265-donl", &seed);
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
    // Header extension element data (selector byte, then the element's data), from the
    // specs' layouts and the libwebrtc test vectors of rtp2-core's unit tests.
    let hdrext: [(&str, &[u8]); 10] = [
        ("cvo-rotate-90", &[0, 0x01]),
        ("abs-send-time", &[1, 0x06, 0x00, 0x00]),
        ("playout-delay-30-340", &[2, 0x00, 0x30, 0x22]),
        ("toffset-0x56ce", &[3, 0x00, 0x56, 0xce]),
        (
            "abs-capture-time-16",
            &[
                4, 1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ],
        ),
        ("video-content-type", &[5, 0x01]),
        (
            "video-timing-legacy",
            &[6, 0, 1, 0, 2, 0, 3, 0, 4, 0, 0, 0, 0],
        ),
        ("csrc-audio-level", &[7, 0x00, 0x1e, 0x7f]),
        // A one-byte-form block: id 1 toffset, id 9 a 1-byte element, padding.
        (
            "block",
            &[0x80, 0x12, 0x00, 0x56, 0xce, 0x90, 0x80, 0x00, 0x00],
        ),
        // An RTP packet (RFC 3550 §5.1) with abs-send-time as element 3, to restamp.
        (
            "rtp-abs-send-time",
            &[
                0x83, 0x90, 0x60, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe, 0xde, 0, 1, 0x32, 1, 2, 3,
            ],
        ),
    ];
    for (name, seed) in hdrext {
        write(&corpus.join("hdrext_formats"), name, seed);
    }
    println!("seeds written under {}", corpus.display());
}
