// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Depayloader outputs carry what the packets they were made from carried, not what the
//! packet being handled when they went out carried: header extensions (read with the C
//! `rtphdrextclientaudiolevel`, RFC 6464), `RTPSourceMeta` (SSRC and CSRCs) and allowed
//! input metas. The packets are built byte by byte here (RFC 3550 §5.1, RFC 8285 §4.2,
//! RFC 6184 §5.6/§5.8) around the NAL units of a real x264enc stream.

use std::time::Duration;

use gst::prelude::*;

mod common;

const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
const SSRC: u32 = 0x1122_3344;

/// One packet to build.
struct Packet<'a> {
    seq: u16,
    ts: u32,
    marker: bool,
    csrcs: &'a [u32],
    /// Audio level (RFC 6464: voice activity bit 0x80 | level) as one-byte element id 1.
    level: Option<u8>,
    payload: Vec<u8>,
}

/// RFC 3550 §5.1 header, CSRCs, RFC 8285 §4.2 one-byte block, payload. The buffer's PTS is
/// the RTP time (90 kHz), as a jitterbuffer would set it.
fn build(p: &Packet) -> gst::Buffer {
    let x = if p.level.is_some() { 0x10 } else { 0 };
    let mut out = vec![
        0x80 | x | p.csrcs.len() as u8,
        (u8::from(p.marker) << 7) | 96,
    ];
    out.extend(p.seq.to_be_bytes());
    out.extend(p.ts.to_be_bytes());
    out.extend(SSRC.to_be_bytes());
    for c in p.csrcs {
        out.extend(c.to_be_bytes());
    }
    if let Some(level) = p.level {
        // 0xBEDE, 1 word: id 1, len-1 = 0, the level byte, 2 bytes of padding.
        out.extend([0xBE, 0xDE, 0, 1, 0x10, 0x80 | level, 0, 0]);
    }
    out.extend(&p.payload);
    let mut buffer = gst::Buffer::from_mut_slice(out);
    buffer
        .get_mut()
        .unwrap()
        .set_pts(gst::ClockTime::from_nseconds(u64::from(p.ts) * 100_000 / 9));
    buffer
}

/// The NAL units of the first three access units x264enc makes (no B-frames): the first
/// holds SPS, PPS, SEI and an IDR slice, the others one P slice each.
fn x264_aus() -> Vec<Vec<Vec<u8>>> {
    let got = common::run_collect(
        "videotestsrc num-buffers=3 ! video/x-raw,width=160,height=120 \
         ! x264enc speed-preset=ultrafast bframes=0 key-int-max=30 aud=false \
         ! video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false",
        "sink",
        Duration::from_secs(60),
    );
    assert_eq!(
        got.buffers.len(),
        3,
        "x264enc (gst-plugins-ugly) made no stream"
    );
    got.buffers
        .iter()
        .map(|b| common::video::nals_of(std::slice::from_ref(b)))
        .collect()
}

/// Splits one NAL unit into two FU-A packets (RFC 6184 §5.8): FU indicator (F|NRI of the
/// NAL header, type 28), FU header (S or E bit, NAL type), then the fragment.
fn fu_a(nal: &[u8]) -> [Vec<u8>; 2] {
    let indicator = (nal[0] & 0xe0) | 28;
    let kind = nal[0] & 0x1f;
    let body = &nal[1..];
    let (a, b) = body.split_at(body.len() / 2);
    let mut first = vec![indicator, 0x80 | kind];
    first.extend(a);
    let mut second = vec![indicator, 0x40 | kind];
    second.extend(b);
    [first, second]
}

/// Pushes `packets` through `rtph264depay2` (with `source-info`) with the audio level
/// extension negotiated in the caps, then EOS; returns the outputs.
fn depayload(packets: &[Packet]) -> Vec<gst::Buffer> {
    depayload_buffers(packets.iter().map(build).collect())
}

fn depayload_buffers(packets: Vec<gst::Buffer>) -> Vec<gst::Buffer> {
    depayload_with(packets, false)
}

/// Pushes `packets` one by one, or all in one buffer list (`as_list`).
fn depayload_with(packets: Vec<gst::Buffer>, as_list: bool) -> Vec<gst::Buffer> {
    common::init();
    let mut h = gst_check::Harness::new("rtph264depay2");
    h.element().unwrap().set_property("source-info", true);
    h.set_src_caps_str(&format!(
        "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96,\
         extmap-1={AUDIO_LEVEL_URI}"
    ));
    if as_list {
        let mut list = gst::BufferList::new();
        for p in packets {
            list.get_mut().unwrap().add(p);
        }
        assert_eq!(
            h.srcpad().unwrap().push_list(list),
            Ok(gst::FlowSuccess::Ok)
        );
    } else {
        for p in packets {
            assert_eq!(h.push(p), Ok(gst::FlowSuccess::Ok));
        }
    }
    h.push_event(gst::event::Eos::new());
    let mut out = Vec::new();
    while let Some(b) = h.try_pull() {
        out.push(b);
    }
    out
}

/// The audio levels (without the voice activity bit) of every `GstAudioLevelMeta`.
fn levels(buffer: &gst::Buffer) -> Vec<u8> {
    buffer
        .iter_meta::<gst_audio::AudioLevelMeta>()
        .map(|m| m.level())
        .collect()
}

fn csrcs(buffer: &gst::Buffer) -> (Option<u32>, Vec<u32>) {
    let meta = buffer
        .meta::<gst_rtp::RTPSourceMeta>()
        .expect("source-info adds an RTPSourceMeta");
    (meta.ssrc(), meta.csrc().to_vec())
}

/// The output whose PTS is the RTP time `ts`.
fn at(outputs: &[gst::Buffer], ts: u32) -> &gst::Buffer {
    let pts = gst::ClockTime::from_nseconds(u64::from(ts) * 100_000 / 9);
    outputs
        .iter()
        .find(|b| b.pts() == Some(pts))
        .unwrap_or_else(|| panic!("no output at RTP time {ts} among {outputs:?}"))
}

/// Single NAL unit packets of access unit `au`, none with the marker bit: the first packet
/// of the next access unit (its timestamp change) ends each access unit.
fn unmarked(
    aus: &[Vec<Vec<u8>>],
    au: usize,
    seq: &mut u16,
    level: u8,
    csrcs: &'static [u32],
) -> Vec<Packet<'static>> {
    aus[au]
        .iter()
        .map(|nal| {
            *seq += 1;
            Packet {
                seq: *seq,
                ts: au as u32 * 3000,
                marker: false,
                csrcs,
                level: Some(level),
                payload: nal.clone(),
            }
        })
        .collect()
}

#[test]
fn access_unit_ended_by_the_next_one_keeps_its_own_audio_level_and_csrcs() {
    let aus = x264_aus();
    let mut seq = 1000;
    let mut packets = unmarked(&aus, 0, &mut seq, 5, &[0xa0]);
    packets.extend(unmarked(&aus, 1, &mut seq, 10, &[0xa1]));
    packets.extend(unmarked(&aus, 2, &mut seq, 20, &[0xa2]));
    let out = depayload(&packets);
    assert_eq!(out.len(), 3, "three access units");
    // The access unit at RTP time 3000 went out when the first packet at 6000 (level 20,
    // CSRC a2) arrived; it carries the level and CSRC of its own packets.
    assert_eq!(levels(at(&out, 3000)), vec![10]);
    assert_eq!(csrcs(at(&out, 3000)), (Some(SSRC), vec![0xa1]));
    assert_eq!(levels(at(&out, 0)), vec![5]);
    assert_eq!(csrcs(at(&out, 0)), (Some(SSRC), vec![0xa0]));
    // The last one, drained at EOS, too.
    assert_eq!(levels(at(&out, 6000)), vec![20]);
    assert_eq!(csrcs(at(&out, 6000)), (Some(SSRC), vec![0xa2]));
}

#[test]
fn access_unit_of_two_fu_a_packets_carries_the_levels_and_csrcs_of_both() {
    let aus = x264_aus();
    let mut seq = 2000;
    let mut packets = unmarked(&aus, 0, &mut seq, 5, &[]);
    assert_eq!(aus[1].len(), 1, "one P slice per access unit");
    let [first, second] = fu_a(&aus[1][0]);
    for (payload, level, csrcs, marker) in [
        (first, 30, &[0xb1u32][..], false),
        (second, 40, &[0xb2u32, 0xb1][..], true),
    ] {
        seq += 1;
        packets.push(Packet {
            seq,
            ts: 3000,
            marker,
            csrcs,
            level: Some(level),
            payload,
        });
    }
    packets.extend(unmarked(&aus, 2, &mut seq, 50, &[]));
    let out = depayload(&packets);
    assert_eq!(out.len(), 3, "three access units");
    let au = at(&out, 3000);
    // The reassembled slice is the encoder's, byte for byte.
    assert_eq!(common::video::nals_of(std::slice::from_ref(au)), aus[1]);
    // Policy: every packet's element is read, in sequence order, a value repeated by a later
    // packet of the same output read once: two audio level metas, 30 then 40.
    assert_eq!(levels(au), vec![30, 40]);
    // The CSRCs of all its packets, each once, in order of first appearance.
    assert_eq!(csrcs(au), (Some(SSRC), vec![0xb1, 0xb2]));
}

#[test]
fn repeated_level_within_an_access_unit_is_one_meta() {
    let aus = x264_aus();
    let mut seq = 3000;
    // The first access unit has several NAL units (SPS, PPS, SEI, IDR), all with level 7.
    assert!(aus[0].len() > 1);
    let mut packets = unmarked(&aus, 0, &mut seq, 7, &[]);
    packets.extend(unmarked(&aus, 1, &mut seq, 8, &[]));
    let out = depayload(&packets);
    assert_eq!(levels(at(&out, 0)), vec![7]);
    assert_eq!(levels(at(&out, 3000)), vec![8]);
}

#[test]
fn untagged_and_video_metas_of_its_own_packets_reach_the_access_unit() {
    let aus = x264_aus();
    let mut seq = 4000;
    let mut packets: Vec<gst::Buffer> = Vec::new();
    for au in 0..3 {
        for p in unmarked(&aus, au, &mut seq, 1, &[]) {
            let mut b = build(&p);
            {
                let b = b.get_mut().unwrap();
                // Untagged: copied, as C's gst_rtp_copy_video_meta does.
                gst::ReferenceTimestampMeta::add(
                    b,
                    &gst::Caps::new_empty_simple("timestamp/x-test"),
                    gst::ClockTime::from_seconds(u64::from(p.seq)),
                    None,
                );
                // Tagged "audio" only: not for a video element.
                gst_audio::AudioClippingMeta::add(
                    b,
                    gst::format::Default::from_u64(1),
                    gst::format::Default::from_u64(2),
                );
            }
            packets.push(b);
        }
    }
    let out = depayload_buffers(packets);
    assert_eq!(out.len(), 3);
    let first_seq = 4001u64;
    let n0 = aus[0].len() as u64;
    for (au, range) in [
        (0u32, first_seq..first_seq + n0),
        (3000, first_seq + n0..first_seq + n0 + aus[1].len() as u64),
    ] {
        let b = at(&out, au);
        let refs: Vec<u64> = b
            .iter_meta::<gst::ReferenceTimestampMeta>()
            .map(|m| m.timestamp().seconds())
            .collect();
        assert_eq!(refs, range.collect::<Vec<_>>(), "access unit at {au}");
        assert!(b.meta::<gst_audio::AudioClippingMeta>().is_none());
    }
}

#[test]
fn same_relation_when_the_packets_come_in_one_buffer_list() {
    let aus = x264_aus();
    let mut seq = 5000;
    let mut packets = unmarked(&aus, 0, &mut seq, 5, &[0xa0]);
    packets.extend(unmarked(&aus, 1, &mut seq, 10, &[0xa1]));
    packets.extend(unmarked(&aus, 2, &mut seq, 20, &[0xa2]));
    let out = depayload_with(packets.iter().map(build).collect(), true);
    assert_eq!(out.len(), 3);
    for (ts, level, csrc) in [(0, 5, 0xa0), (3000, 10, 0xa1), (6000, 20, 0xa2)] {
        assert_eq!(levels(at(&out, ts)), vec![level]);
        assert_eq!(csrcs(at(&out, ts)), (Some(SSRC), vec![csrc]));
    }
    // The access units are the encoder's, byte for byte.
    let nals: Vec<Vec<Vec<u8>>> = [0, 3000, 6000]
        .iter()
        .map(|ts| common::video::nals_of(std::slice::from_ref(at(&out, *ts))))
        .collect();
    assert_eq!(nals, aus);
}
