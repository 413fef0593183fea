// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `profile` and `level` (H.265: and `tier`) in the output caps of our video depayloaders
//! (issue 14, item 8): for streams of x264enc and x265enc at several profiles, payloaded by
//! the C payloaders, our caps carry what h264parse/h265parse put in theirs for the same
//! elementary stream, in every output format; for H.264 also what the C `rtph264depay` says.

use std::time::Duration;

use gst::prelude::*;

mod common;

use common::video::{Stream, through};

/// `frames` frames of `format` raw video at `size` encoded by `encoder`, through `caps` (a
/// profile request for x264enc), as byte-stream access units.
fn encode(encoder: &str, format: &str, size: (u32, u32), caps: &str) -> Stream {
    common::init();
    let media = if encoder == "x264enc" { "h264" } else { "h265" };
    let collected = common::run_collect(
        &format!(
            "videotestsrc num-buffers=3 pattern=ball ! \
             video/x-raw,width={},height={},format={format},framerate=30/1 ! {encoder} ! \
             video/x-{media}{caps} ! {media}parse ! \
             video/x-{media},stream-format=byte-stream,alignment=au ! \
             appsink name=sink sync=false",
            size.0, size.1
        ),
        "sink",
        Duration::from_secs(120),
    );
    assert_eq!(collected.buffers.len(), 3, "{encoder} {format}");
    Stream {
        buffers: collected.buffers,
        caps: collected.caps.expect("caps"),
    }
}

/// The named string fields of the caps of `stream` (`None` for a missing one).
fn fields(stream: &Stream, names: &[&str]) -> Vec<Option<String>> {
    let s = stream.caps.structure(0).expect("caps structure");
    names.iter().map(|n| s.get::<String>(*n).ok()).collect()
}

/// Output of `depay` for RTP `packets`, in `format` (stream-format).
fn depayload(depay: &str, media: &str, format: &str, packets: &Stream) -> Stream {
    let out = through(
        &format!(
            "{depay} ! capsfilter \
             caps=\"video/x-{media},stream-format={format},alignment=au\""
        ),
        packets,
    );
    assert_eq!(out.buffers.len(), 3, "{depay} → {format}");
    out
}

/// x264enc at several profiles and levels: our caps say what h264parse and the C
/// depayloader say, in avc and in byte-stream output.
#[test]
fn h264_profile_and_level_match_h264parse_and_the_c_depayloader() {
    let cases = [
        ("I420", (64, 64), ",profile=constrained-baseline"),
        ("I420", (320, 240), ",profile=main"),
        ("I420", (1280, 720), ",profile=high"),
        ("Y42B", (320, 240), ""),
        ("Y444", (176, 144), ""),
        ("I420_10LE", (320, 240), ""),
    ];
    let mut profiles = Vec::new();
    for (format, size, caps) in cases {
        let stream = encode("x264enc", format, size, caps);
        let parsed = fields(&through("h264parse", &stream), &["profile", "level"]);
        assert!(parsed.iter().all(Option::is_some), "h264parse: {parsed:?}");
        let packets = through("rtph264pay", &stream);
        let c = fields(
            &depayload("rtph264depay", "h264", "avc", &packets),
            &["profile", "level"],
        );
        assert_eq!(c, parsed, "C rtph264depay and h264parse agree ({format})");
        for output in ["avc", "byte-stream"] {
            let ours = fields(
                &depayload("rtph264depay2", "h264", output, &packets),
                &["profile", "level"],
            );
            assert_eq!(ours, parsed, "{format} {size:?} {caps} → {output}");
        }
        profiles.push(parsed[0].clone().unwrap());
    }
    // The cases cover distinct profiles.
    assert_eq!(
        profiles,
        [
            "constrained-baseline",
            "main",
            "high",
            "high-4:2:2",
            "high-4:4:4",
            "high-10"
        ]
    );
}

/// x265enc at several profiles (8/10/12-bit, 4:2:0/4:2:2/4:4:4): our caps say what
/// h265parse says (profile, tier, level), in every output format. The C rtph265depay of
/// GStreamer 1.22 sets none of them.
#[test]
fn h265_profile_tier_and_level_match_h265parse() {
    let names = ["profile", "tier", "level"];
    let mut profiles = Vec::new();
    for (format, size) in [
        ("I420", (320, 240)),
        ("I420", (1280, 720)),
        ("I420_10LE", (320, 240)),
        ("I420_12LE", (320, 240)),
        ("Y42B", (320, 240)),
        ("I422_10LE", (320, 240)),
        ("Y444", (320, 240)),
        ("Y444_10LE", (320, 240)),
    ] {
        let stream = encode("x265enc", format, size, "");
        let parsed = fields(&through("h265parse", &stream), &names);
        assert!(parsed.iter().all(Option::is_some), "h265parse: {parsed:?}");
        let packets = through("rtph265pay", &stream);
        for output in ["hvc1", "hev1", "byte-stream"] {
            let ours = fields(
                &depayload("rtph265depay2", "h265", output, &packets),
                &names,
            );
            assert_eq!(ours, parsed, "{format} {size:?} → {output}");
        }
        profiles.push(parsed[0].clone().unwrap());
    }
    profiles.dedup();
    assert!(
        profiles.len() >= 6,
        "distinct profiles covered: {profiles:?}"
    );
}

/// Two SPSs of different levels in `sprop-parameter-sets` (either id order): the caps name
/// the highest level, as the C depayloader does.
#[test]
fn h264_caps_take_the_sps_with_the_highest_level() {
    common::init();
    let b64 = |nal: &[u8]| glib::base64_encode(nal).to_string();
    // Constrained Baseline SPSs (profile_idc 66, constraint_set0/1) with seq_parameter_set_id
    // ue(v) "1" = 0 or "010" = 1; level_idc 30 (3) or 40 (4). PPS 0 of SPS 0.
    let pps = [0x68, 0xce, 0x3c, 0x80];
    for (level_of_id0, level_of_id1) in [(30u8, 40u8), (40, 30)] {
        let sps0 = [0x67, 66, 0xc0, level_of_id0, 0x80];
        let sps1 = [0x67, 66, 0xc0, level_of_id1, 0x40];
        let caps = gst::Caps::builder("application/x-rtp")
            .field("media", "video")
            .field("clock-rate", 90000i32)
            .field("encoding-name", "H264")
            .field(
                "sprop-parameter-sets",
                format!("{},{},{}", b64(&sps0), b64(&sps1), b64(&pps)),
            )
            .build();
        for depay in ["rtph264depay", "rtph264depay2"] {
            let mut h = gst_check::Harness::new_parse(&format!(
                "{depay} ! capsfilter caps=\"video/x-h264,stream-format=avc,alignment=au\""
            ));
            h.set_src_caps(caps.clone());
            let out = h
                .sinkpad()
                .and_then(|p| p.current_caps())
                .unwrap_or_else(|| panic!("{depay} sets its caps from sprop-parameter-sets"));
            let s = out.structure(0).unwrap();
            assert_eq!(s.get::<&str>("level"), Ok("4"), "{depay}: {out}");
            assert_eq!(
                s.get::<&str>("profile"),
                Ok("constrained-baseline"),
                "{depay}"
            );
        }
    }
}
