// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Payloader parity with the C elements (issue 14), continued: buffer flags on the packets
//! (DELTA_UNIT, DISCONT, MARKER) and raw files from `filesrc` (BYTES segments).

use std::time::Duration;

mod common;
mod parity_support;

use parity_support::*;

/// Item 7: buffer flags. H.264 as C: only the first packet of a key input buffer goes without
/// DELTA_UNIT; DISCONT on the first packet of a DISCONT input; MARKER with the marker bit.
#[test]
fn h264_buffer_flags_agree_with_c() {
    let caps = caps("video/x-h264,stream-format=byte-stream,alignment=au");
    // Parameter sets alone first, so that with config-interval=-1 both insert them before
    // each IDR (C also inserts them before an IDR whose access unit has them).
    let input = [
        buffer(&annexb(&[&SPS, &PPS]), 0, KEY),
        buffer(&annexb(&[&idr(3000, 1)]), 0, KEY),
        buffer(&annexb(&[&slice(40, 2)]), 33, DELTA),
        buffer(
            &annexb(&[&slice(40, 3)]),
            66,
            DELTA | gst::BufferFlags::DISCONT,
        ),
        buffer(&annexb(&[&idr(50, 4)]), 99, KEY | gst::BufferFlags::DISCONT),
        buffer(&annexb(&[&slice(40, 5)]), 133, DELTA),
    ];
    for props in ["", "config-interval=-1", "aggregate-mode=max-stap"] {
        let c = run(&format!("rtph264pay {props}"), &caps, &input, &[5]);
        let ours = run(&format!("rtph264pay2 {props}"), &caps, &input, &[5]);
        assert_eq!(ours.packets, c.packets, "{props}");
        assert_marker_flag_follows_the_bit(&ours);
        assert!(delta_discont(&ours).contains(&(true, true)), "{props}");
        assert!(delta_discont(&ours).contains(&(false, true)), "{props}");
    }
}

/// Item 7, H.265: no packet of a key input buffer has DELTA_UNIT, every packet of a delta one
/// has it. C 1.22 agrees on the delta access units and on the parameter sets it inserts
/// (`config-interval=-1`), but also flags the keyframe's own slices DELTA_UNIT and sets MARKER
/// on packets without the marker bit (docs/migration.md); the packets are the same.
#[test]
fn h265_buffer_flags_mark_whole_keyframes() {
    let caps = caps("video/x-h265,stream-format=byte-stream,alignment=au");
    // Parameter sets alone first, so that both insert them before each IDR.
    let input = [
        buffer(&annexb(&[&VPS, &SPS265, &PPS265]), 0, KEY),
        buffer(&annexb(&[&idr265(3000, 1)]), 0, KEY),
        buffer(
            &annexb(&[&trail265(40, 2)]),
            33,
            DELTA | gst::BufferFlags::DISCONT,
        ),
        buffer(&annexb(&[&idr265(50, 3)]), 66, KEY),
    ];
    let c = run("rtph265pay config-interval=-1", &caps, &input, &[]);
    let ours = run("rtph265pay2 config-interval=-1", &caps, &input, &[]);
    assert_eq!(payloads(&ours), payloads(&c));
    assert_marker_flag_follows_the_bit(&ours);
    let delta = |o: &Outcome| delta_discont(o).iter().map(|f| f.0).collect::<Vec<_>>();
    let (ours_delta, c_delta) = (delta(&ours), delta(&c));
    // VPS/SPS/PPS; VPS/SPS/PPS inserted, 3 FU; the delta slice; VPS/SPS/PPS, the IDR slice.
    assert_eq!(ours_delta.len(), 14);
    let expected: Vec<bool> = (0..14).map(|i| i == 9).collect();
    assert_eq!(ours_delta, expected);
    for (i, (ours, c)) in ours_delta.iter().zip(&c_delta).enumerate() {
        assert!(*c || !*ours, "packet {i}: C has no DELTA_UNIT, ours has");
    }
    assert!(c_delta[9], "C: the delta slice");
    assert!(
        !c_delta[10] && !c_delta[11] && !c_delta[12],
        "C: inserted sets"
    );
    let discont: Vec<bool> = delta_discont(&ours).iter().map(|f| f.1).collect();
    assert_eq!(
        discont, expected,
        "DISCONT on the first packet of the DISCONT input"
    );
}

/// Item 7, audio: DISCONT on the packet with the first data of a DISCONT input, as the C
/// `rtpg722pay`/`rtpg729pay`; MARKER with the marker bit (C G.722 never sets the MARKER flag).
#[test]
fn audio_discont_flags_agree_with_c() {
    for (element, caps_str, size) in [
        ("rtpg722pay", "audio/G722,rate=16000,channels=1", 160),
        ("rtpg729pay", "audio/G729,rate=8000,channels=1", 20),
    ] {
        let input: Vec<gst::Buffer> = (0..6u8)
            .map(|i| {
                let flags = if i == 3 {
                    gst::BufferFlags::DISCONT
                } else {
                    KEY
                };
                buffer(&vec![i + 1; size], u64::from(i) * 20, flags)
            })
            .collect();
        let (c, ours) = both(element, &caps(caps_str), &input);
        assert_eq!(payloads(&ours), payloads(&c), "{element}");
        assert_eq!(delta_discont(&ours), delta_discont(&c), "{element}");
        assert_eq!(delta_discont(&ours)[3], (false, true), "{element}");
        assert_marker_flag_follows_the_bit(&ours);
    }
}

/// Item 11: raw files from `filesrc` (a BYTES segment, no timestamps) run through ours as
/// through C, with the same packets. Audio RTP time: ours advances with the byte count at the
/// codec's bit rate; C 1.22, without any input timestamp, gives every packet the same RTP
/// timestamp (docs/migration.md), so only ours is checked there.
#[test]
fn bytes_segments_from_filesrc_run_as_with_c() {
    let dir = common::TempDir::new("parity-filesrc");
    let audio: Vec<u8> = (0..4000u32).map(|i| (i * 7 % 251) as u8).collect();
    let video = annexb(&[&SPS, &PPS, &idr(2500, 9)]);
    let cases = [
        (
            "speech.g722",
            &audio,
            "blocksize=160 ! audio/G722,rate=16000,channels=1",
            "rtpg722pay",
            1,
        ),
        (
            "speech.g729",
            &audio,
            "blocksize=20 ! audio/G729,rate=8000,channels=1",
            "rtpg729pay",
            8,
        ),
        (
            "video.h264",
            &video,
            "! video/x-h264,stream-format=byte-stream,alignment=au",
            "rtph264pay",
            0,
        ),
    ];
    for (name, data, source, element, ticks_per_byte) in cases {
        let path = dir.0.join(name);
        std::fs::write(&path, data).unwrap();
        let fixed = "ssrc=1 seqnum-offset=100 timestamp-offset=1000";
        let packets = |pay: &str| -> Vec<common::RtpFields> {
            let launch = format!(
                "filesrc location={} {source} ! {pay} {fixed} ! appsink name=sink sync=false",
                path.display()
            );
            let collected = common::run_collect(&launch, "sink", Duration::from_secs(20));
            collected.buffers.iter().map(common::rtp_fields).collect()
        };
        let (mut c, ours) = (packets(element), packets(&format!("{element}2")));
        assert!(!ours.is_empty());
        if ticks_per_byte == 0 {
            assert_eq!(ours, c, "{element}");
        } else {
            for (c, ours) in c.iter_mut().zip(&ours) {
                c.timestamp = ours.timestamp;
            }
            assert_eq!(ours, c, "{element}: all but the RTP timestamps");
            let total: usize = ours.iter().map(|p| p.payload.len()).sum();
            assert_eq!(total, data.len(), "{element}");
            let mut sent = 0u32;
            for p in &ours {
                assert_eq!(p.timestamp, 1000 + sent * ticks_per_byte, "{element}");
                sent += p.payload.len() as u32;
            }
        }
    }
}
