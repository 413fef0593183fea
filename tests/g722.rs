// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtpg722pay2` / `rtpg722depay2` against the real C elements, avenc_g722 / avdec_g722 and
//! ffmpeg: byte-exact payloads, the same RTP timestamps and markers as `rtpg722pay`, and bad
//! input dropped with a warning and a count.

use gst::prelude::*;

mod common;

use common::{RtpFields, rtp_packet};

const G722_CAPS: &str = "audio/G722,rate=16000,channels=1";
const G722_RTP_CAPS: &str =
    "application/x-rtp,media=audio,clock-rate=8000,encoding-name=G722,payload=9";

/// `num` buffers of `samples` samples of a sine at 16 kHz, encoded by avenc_g722.
fn encoded_g722(num: u32, samples: u32) -> Vec<gst::Buffer> {
    common::init();
    let collected = common::run_collect(
        &format!(
            "audiotestsrc num-buffers={num} samplesperbuffer={samples} wave=sine freq=440 \
             ! audio/x-raw,rate=16000,channels=1 ! avenc_g722 ! appsink name=sink sync=false"
        ),
        "sink",
        std::time::Duration::from_secs(30),
    );
    collected.buffers
}

fn concat(buffers: &[gst::Buffer]) -> Vec<u8> {
    buffers
        .iter()
        .flat_map(|b| b.map_readable().unwrap().as_slice().to_vec())
        .collect()
}

/// Runs `buffers` with `caps` through the element(s) of `launch` in a harness and returns
/// every output buffer after EOS.
fn through(launch: &str, caps: &str, buffers: &[gst::Buffer]) -> Vec<gst::Buffer> {
    common::init();
    let mut h = gst_check::Harness::new_parse(launch);
    h.set_src_caps_str(caps);
    for buffer in buffers {
        h.push(buffer.clone()).unwrap();
    }
    h.push_event(gst::event::Eos::new());
    let mut out = Vec::new();
    while let Some(buffer) = h.try_pull() {
        out.push(buffer);
    }
    out
}

const FIXED: &str = "timestamp-offset=1000 seqnum-offset=100 ssrc=3735928559";

#[test]
fn payloader_matches_c_payloader_packet_for_packet() {
    // 500-byte input buffers: packets straddle input buffers.
    let input = encoded_g722(40, 1000);
    assert_eq!(concat(&input).len(), 40 * 500);
    for props in [
        "",
        "max-ptime=10000000",
        "max-ptime=30000000",
        "min-ptime=40000000 max-ptime=40000000",
        "mtu=100",
        "ptime-multiple=5000000 max-ptime=27000000",
        "pt=101",
    ] {
        let ours = through(&format!("rtpg722pay2 {FIXED} {props}"), G722_CAPS, &input);
        let theirs = through(&format!("rtpg722pay {FIXED} {props}"), G722_CAPS, &input);
        let ours: Vec<RtpFields> = ours.iter().map(common::rtp_fields).collect();
        let theirs: Vec<RtpFields> = theirs.iter().map(common::rtp_fields).collect();
        assert!(!ours.is_empty());
        assert_eq!(ours.len(), theirs.len(), "packet count with '{props}'");
        for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(o, t, "packet {i} with '{props}'");
        }
        // Nothing was lost or reordered: all payload bytes, in order.
        let payload: Vec<u8> = ours.iter().flat_map(|f| f.payload.clone()).collect();
        assert_eq!(payload, concat(&input), "payload bytes with '{props}'");
    }
}

#[test]
fn our_payloader_into_c_depayloader_is_byte_exact() {
    let input = encoded_g722(25, 700);
    let out = through("rtpg722pay2 ! rtpg722depay", G722_CAPS, &input);
    assert_eq!(concat(&out), concat(&input));
}

#[test]
fn c_payloader_into_our_depayloader_is_byte_exact_with_c_timestamps() {
    let input = encoded_g722(25, 700);
    let packets = through(&format!("rtpg722pay {FIXED}"), G722_CAPS, &input);
    let ours = through("rtpg722depay2", G722_RTP_CAPS, &packets);
    let theirs = through("rtpg722depay", G722_RTP_CAPS, &packets);
    assert_eq!(concat(&ours), concat(&input));
    assert_eq!(ours.len(), theirs.len());
    for (o, t) in ours.iter().zip(&theirs) {
        assert_eq!(o.size(), t.size());
        assert_eq!(o.pts(), t.pts(), "same PTS as the C depayloader");
    }
    // 20 ms packets: PTS advance by exactly 20 ms.
    for pair in ours.windows(2) {
        assert_eq!(
            pair[1].pts().unwrap() - pair[0].pts().unwrap(),
            gst::ClockTime::from_mseconds(20)
        );
    }
    assert!(ours[0].flags().contains(gst::BufferFlags::DISCONT));
    // A marker bit (start of a talkspurt) is RESYNC on the output, and only then.
    assert_eq!(packets.len(), ours.len());
    let mut markers = 0;
    for (packet, out) in packets.iter().zip(&ours) {
        let marker = packet.map_readable().unwrap()[1] & 0x80 != 0;
        markers += usize::from(marker);
        assert_eq!(out.flags().contains(gst::BufferFlags::RESYNC), marker);
    }
    assert!(markers >= 1, "the C payloader marks the first packet");
}

#[test]
fn ours_to_ours_decodes_like_the_elementary_stream() {
    common::init();
    let direct = common::run_collect(
        "audiotestsrc num-buffers=50 samplesperbuffer=320 wave=sine ! audio/x-raw,rate=16000,channels=1 \
         ! avenc_g722 ! avdec_g722 ! appsink name=sink sync=false",
        "sink",
        std::time::Duration::from_secs(30),
    );
    let via_rtp = common::run_collect(
        "audiotestsrc num-buffers=50 samplesperbuffer=320 wave=sine ! audio/x-raw,rate=16000,channels=1 \
         ! avenc_g722 ! rtpg722pay2 ! rtpg722depay2 ! avdec_g722 ! appsink name=sink sync=false",
        "sink",
        std::time::Duration::from_secs(30),
    );
    let direct = concat(&direct.buffers);
    let via_rtp = concat(&via_rtp.buffers);
    // 50 × 320 samples of S16 mono.
    assert_eq!(direct.len(), 50 * 320 * 2);
    assert_eq!(
        via_rtp, direct,
        "decoded PCM differs after our payloader and depayloader"
    );
}

#[test]
fn ffmpeg_receives_our_stream_over_udp() {
    common::init();
    let port = common::free_udp_port();
    let sdp = format!(
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=rtp2 G.722\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n"
    );
    let receiver = common::ffmpeg_receive_rtp(&sdp, std::time::Duration::from_secs(20));
    // 2 s of audio, sent in real time so that ffmpeg sees a live stream.
    common::run_collect(
        &format!(
            "audiotestsrc is-live=true num-buffers=100 samplesperbuffer=320 wave=sine \
             ! audio/x-raw,rate=16000,channels=1 ! avenc_g722 ! rtpg722pay2 \
             ! tee name=t ! queue ! udpsink host=127.0.0.1 port={port} sync=true \
             t. ! queue ! appsink name=sink sync=false"
        ),
        "sink",
        std::time::Duration::from_secs(20),
    );
    let result = receiver.finish();
    // ffmpeg decodes G.722 to 16 kHz S16: 2 s are 64000 bytes. Allow for the first packet(s)
    // ffmpeg may miss while starting.
    let decoded_secs = result.decoded_bytes as f64 / (16000.0 * 2.0);
    assert!(
        (1.7..=2.05).contains(&decoded_secs),
        "ffmpeg decoded {decoded_secs} s, stderr: {}",
        result.stderr
    );
}

#[test]
fn malformed_packets_are_dropped_counted_and_the_stream_goes_on() {
    common::init();
    let good = |seq: u16| {
        rtp_packet(
            9,
            seq,
            u32::from(seq) * 160,
            0x1234,
            false,
            &[seq as u8; 160],
        )
    };
    let mut version_1 = good(3);
    version_1[0] = 0x40;
    let mut csrc_past_end = good(3)[..20].to_vec();
    csrc_past_end[0] = 0x8f; // 15 CSRCs announced, 8 bytes after the fixed header
    let mut ext_past_end = good(3)[..20].to_vec();
    ext_past_end[0] = 0x90; // X bit
    ext_past_end[12..16].copy_from_slice(&[0xbe, 0xde, 0x00, 0x40]); // 256 bytes announced
    let mut bad_padding = good(3);
    bad_padding[0] |= 0x20;
    *bad_padding.last_mut().unwrap() = 0xff; // pads past the payload
    let empty_payload = rtp_packet(9, 3, 480, 0x1234, false, &[]);
    let inputs = vec![
        good(1),
        good(2),
        vec![0x80, 0x09, 0x00],
        version_1,
        csrc_past_end,
        ext_past_end,
        bad_padding,
        empty_payload,
        good(4),
        good(5),
    ];
    let collected = common::push_collect(
        "appsrc name=src format=time ! rtpg722depay2 name=depay ! appsink name=sink sync=false",
        G722_RTP_CAPS,
        inputs
            .into_iter()
            .enumerate()
            .map(|(i, data)| {
                let mut b = gst::Buffer::from_mut_slice(data);
                b.get_mut()
                    .unwrap()
                    .set_pts(gst::ClockTime::from_mseconds(20 * i as u64));
                b
            })
            .collect(),
        "sink",
        Some("depay"),
        std::time::Duration::from_secs(10),
    );
    let payloads: Vec<Vec<u8>> = collected
        .buffers
        .iter()
        .map(|b| b.map_readable().unwrap().to_vec())
        .collect();
    assert_eq!(
        payloads,
        vec![
            vec![1u8; 160],
            vec![2u8; 160],
            vec![4u8; 160],
            vec![5u8; 160]
        ]
    );
    let stats = collected.stats.expect("depayloader stats");
    assert_eq!(stats.get::<u64>("dropped-invalid").unwrap(), 5, "{stats}");
    // The packet without payload is valid RTP (RFC 3550 §5.1): skipped and counted, no drop.
    assert_eq!(stats.get::<u64>("dropped-payload").unwrap(), 0, "{stats}");
    assert_eq!(
        stats.get::<u64>("packets-without-payload").unwrap(),
        1,
        "{stats}"
    );
    assert_eq!(stats.get::<u64>("packets-received").unwrap(), 5, "{stats}");
    assert!(
        collected
            .warnings
            .iter()
            .any(|w| w.contains("invalid RTP packet")),
        "an element warning was posted: {:?}",
        collected.warnings
    );
    // Nothing was lost around the packet without payload (seqnum 3): no DISCONT after it.
    assert!(
        !collected.buffers[2]
            .flags()
            .contains(gst::BufferFlags::DISCONT)
    );
}

#[test]
fn loss_duplicates_and_wraps() {
    common::init();
    let mut h = gst_check::Harness::new("rtpg722depay2");
    h.set_src_caps_str(G722_RTP_CAPS);
    // Sequence numbers and timestamps both wrap in the middle.
    let seqs: [u16; 7] = [65533, 65534, 65535, 1, 1, 2, 65535];
    let ts0 = u32::MAX - 400;
    for (i, seq) in seqs.iter().enumerate() {
        let ts = ts0.wrapping_add(u32::from(seq.wrapping_sub(65533)) * 160);
        let mut b =
            gst::Buffer::from_mut_slice(rtp_packet(9, *seq, ts, 0x42, false, &[i as u8; 160]));
        // Only the first packet has a PTS: the others' come from the RTP time alone.
        if i == 0 {
            b.get_mut()
                .unwrap()
                .set_pts(gst::ClockTime::from_mseconds(1000));
        }
        h.push(b).unwrap();
    }
    let mut outs = Vec::new();
    while let Some(b) = h.try_pull() {
        outs.push(b);
    }
    // seq 0 lost; the second 1 is a duplicate; the late 65535 is dropped.
    assert_eq!(outs.len(), 5);
    assert!(!outs[1].flags().contains(gst::BufferFlags::DISCONT));
    assert!(
        outs[3].flags().contains(gst::BufferFlags::DISCONT),
        "gap before seq 1"
    );
    let pts: Vec<u64> = outs.iter().map(|b| b.pts().unwrap().mseconds()).collect();
    // PTS follow the RTP timestamps across the 32-bit wrap: 20 ms per 160 ticks.
    assert_eq!(pts, vec![1000, 1020, 1040, 1080, 1100]);
    let stats = h.element().unwrap().property::<gst::Structure>("stats");
    assert_eq!(stats.get::<u64>("packets-lost").unwrap(), 1);
    assert_eq!(stats.get::<u64>("dropped-late").unwrap(), 2);
}
