// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Payloader parity with the C elements (issue 14): the same hand-made input (NAL units,
//! avcC/hvcC records laid out from RFC 6184/7798 and ISO/IEC 14496-15, raw audio files) goes
//! to our payloader and to the C one, and the packets (payload bytes, count), their buffer
//! flags, or the fact that both run, must agree.

use std::time::Duration;

use gst::prelude::*;

mod common;

/// One output packet: what the wire and the downstream elements see.
#[derive(Clone, PartialEq, Eq)]
struct Packet {
    payload: Vec<u8>,
    marker: bool,
    /// DELTA_UNIT, DISCONT and MARKER buffer flags.
    flags: gst::BufferFlags,
}

impl std::fmt::Debug for Packet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let head = &self.payload[..self.payload.len().min(4)];
        write!(
            f,
            "{} bytes {head:02x?} m{} {:?}",
            self.payload.len(),
            u8::from(self.marker),
            self.flags
        )
    }
}

/// What a payloader did with the input.
#[derive(Debug)]
struct Outcome {
    packets: Vec<Packet>,
    /// Flow returns of the pushes.
    flows: Vec<Result<gst::FlowSuccess, gst::FlowError>>,
    stats: Option<gst::Structure>,
}

const FLAGS: gst::BufferFlags = gst::BufferFlags::DELTA_UNIT
    .union(gst::BufferFlags::DISCONT)
    .union(gst::BufferFlags::MARKER);

/// Runs `buffers` through `element` (a launch line) in a harness with input `caps`; an index
/// `i` in `flush_before` sends flush-start/stop and a new segment before buffer `i`.
fn run(
    element: &str,
    caps: &gst::Caps,
    buffers: &[gst::Buffer],
    flush_before: &[usize],
) -> Outcome {
    common::init();
    let mut h = gst_check::Harness::new_parse(element);
    h.set_src_caps(caps.clone());
    let mut flows = Vec::new();
    for (i, b) in buffers.iter().enumerate() {
        if flush_before.contains(&i) {
            assert!(h.push_event(gst::event::FlushStart::new()));
            assert!(h.push_event(gst::event::FlushStop::new(true)));
            let segment = gst::FormattedSegment::<gst::ClockTime>::new();
            assert!(h.push_event(gst::event::Segment::new(&segment)));
        }
        flows.push(h.push(b.clone()));
    }
    h.push_event(gst::event::Eos::new());
    let mut packets = Vec::new();
    while let Some(b) = h.try_pull() {
        let rtp = gst_rtp::RTPBuffer::from_buffer_readable(&b).expect("an RTP packet");
        packets.push(Packet {
            payload: rtp.payload().unwrap().to_vec(),
            marker: rtp.is_marker(),
            flags: b.flags() & FLAGS,
        });
    }
    let factory = element.split_whitespace().next().unwrap();
    let stats = h
        .find_element(factory)
        .map(|e| e.property::<gst::Structure>("stats"));
    Outcome {
        packets,
        flows,
        stats,
    }
}

/// A buffer of `data` at `pts` ms with `flags`.
fn buffer(data: &[u8], pts_ms: u64, flags: gst::BufferFlags) -> gst::Buffer {
    common::init();
    let mut b = gst::Buffer::from_mut_slice(data.to_vec());
    {
        let b = b.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_mseconds(pts_ms));
        b.set_flags(flags);
    }
    b
}

/// Annex B: each NAL unit after a 4-byte start code.
fn annexb(nals: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for n in nals {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(n);
    }
    out
}

/// Each NAL unit after a `size`-byte big-endian length (ISO/IEC 14496-15 samples).
fn length_prefixed(nals: &[&[u8]], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for n in nals {
        out.extend_from_slice(&(n.len() as u32).to_be_bytes()[4 - size..]);
        out.extend_from_slice(n);
    }
    out
}

fn caps(s: &str) -> gst::Caps {
    common::init();
    s.parse().unwrap()
}

/// `caps` with a `codec_data` buffer.
fn caps_with_codec_data(s: &str, codec_data: Vec<u8>) -> gst::Caps {
    let mut caps = caps(s);
    caps.make_mut()
        .set("codec_data", gst::Buffer::from_mut_slice(codec_data));
    caps
}

/// Runs the same input through the C element and ours (`<c>2`, with the same properties).
fn both(c: &str, caps: &gst::Caps, buffers: &[gst::Buffer]) -> (Outcome, Outcome) {
    let (name, props) = c.split_once(' ').unwrap_or((c, ""));
    let c_out = run(c, caps, buffers, &[]);
    let ours = run(&format!("{name}2 {props}"), caps, buffers, &[]);
    (c_out, ours)
}

fn dropped_invalid(o: &Outcome) -> u64 {
    o.stats
        .as_ref()
        .and_then(|s| s.get::<u64>("dropped-invalid").ok())
        .expect("stats with dropped-invalid")
}

fn all_ok(o: &Outcome) -> bool {
    o.flows.iter().all(|f| f.is_ok())
}

/// H.264 SPS (Baseline, level 3.1, id 0) and PPS (id 0), as an encoder writes them.
const SPS: [u8; 8] = [0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16];
const PPS: [u8; 4] = [0x68, 0xce, 0x3c, 0x80];

/// An H.264 IDR slice (nal_ref_idc 3, type 5, first_mb_in_slice 0) of `len` bytes.
fn idr(len: usize, fill: u8) -> Vec<u8> {
    let mut n = vec![0x65, 0x88];
    n.resize(len, fill);
    n
}

/// A non-IDR H.264 slice (nal_ref_idc 2, type 1).
fn slice(len: usize, fill: u8) -> Vec<u8> {
    let mut n = vec![0x41, 0x9a];
    n.resize(len, fill);
    n
}

/// avcC (ISO/IEC 14496-15 §5.3.3.1.2): version 1, profile/compatibility/level from the SPS,
/// lengthSizeMinusOne, one SPS and one PPS with 16-bit lengths.
fn avcc(length_size: u8) -> Vec<u8> {
    let mut r = vec![
        1,
        SPS[1],
        SPS[2],
        SPS[3],
        0xfc | (length_size - 1),
        0xe1,
        0,
        8,
    ];
    r.extend_from_slice(&SPS);
    r.extend_from_slice(&[1, 0, 4]);
    r.extend_from_slice(&PPS);
    r
}

/// H.265 VPS, SPS (Main, level 2.1, 320x240) and PPS of an x265 stream.
const VPS: [u8; 24] = [
    0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x03, 0x00, 0x3f, 0x95, 0x94, 0x09,
];
const SPS265: [u8; 49] = [
    0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03,
    0x00, 0x3f, 0xa0, 0x0a, 0x08, 0x0f, 0x16, 0x59, 0x59, 0x52, 0x93, 0x0b, 0xff, 0xc0, 0x00, 0x40,
    0x00, 0x5a, 0x83, 0x03, 0x03, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x3c,
    0x10,
];
const PPS265: [u8; 6] = [0x44, 0x01, 0xc0, 0x73, 0xc1, 0x89];

/// An H.265 IDR_W_RADL slice (type 19, TID 1, first_slice_segment_in_pic_flag 1).
fn idr265(len: usize, fill: u8) -> Vec<u8> {
    let mut n = vec![0x26, 0x01, 0xaf];
    n.resize(len, fill);
    n
}

/// A TRAIL_R slice (type 1, TID 1).
fn trail265(len: usize, fill: u8) -> Vec<u8> {
    let mut n = vec![0x02, 0x01, 0xd0];
    n.resize(len, fill);
    n
}

/// hvcC (ISO/IEC 14496-15 §8.3.3.1.2) for the SPS above, with lengthSizeMinusOne and one
/// array each of VPS, SPS and PPS.
fn hvcc(length_size: u8) -> Vec<u8> {
    let mut r = vec![1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 63];
    // min_spatial_segmentation, parallelism, chroma 4:2:0, 8-bit, no frame rate.
    r.extend_from_slice(&[0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8, 0, 0]);
    // One temporal layer, nested; then 3 arrays.
    r.extend_from_slice(&[0x0c | (length_size - 1), 3]);
    for (kind, nal) in [(32u8, &VPS[..]), (33, &SPS265[..]), (34, &PPS265[..])] {
        r.extend_from_slice(&[0x80 | kind, 0, 1, 0, nal.len() as u8]);
        r.extend_from_slice(nal);
    }
    r
}

const KEY: gst::BufferFlags = gst::BufferFlags::empty();
const DELTA: gst::BufferFlags = gst::BufferFlags::DELTA_UNIT;

/// Issue 14 item 4: NAL units of types 24–27 on the input are dropped by both (C with a
/// warning, ours counted as invalid input); the packets are the same.
#[test]
fn reserved_h264_types_24_to_27_are_dropped_as_c_does() {
    let reserved: Vec<Vec<u8>> = (24u8..=27).map(|t| vec![0x60 | t, 0, 4, 0x65, 1]).collect();
    let mut nals: Vec<&[u8]> = vec![&SPS, &PPS];
    nals.extend(reserved.iter().map(Vec::as_slice));
    let idr = idr(40, 7);
    nals.push(&idr);
    let input = [buffer(&annexb(&nals), 0, KEY)];
    let caps = caps("video/x-h264,stream-format=byte-stream,alignment=au");
    let (c, ours) = both("rtph264pay", &caps, &input);
    assert_eq!(ours.packets, c.packets);
    assert_eq!(ours.packets.len(), 3, "SPS, PPS, IDR");
    assert!(all_ok(&ours));
    assert_eq!(dropped_invalid(&ours), 4);
}

/// Item 4, where ours is deliberately different: C sends input NAL units of types 28–29
/// (H.264) and 48–50 (H.265) as single NAL unit packets, which receivers parse as FU-A/FU-B,
/// AP/FU/PACI headers. Ours drops them (docs/migration.md).
#[test]
fn packet_structure_types_are_dropped_where_c_sends_malformed_packets() {
    let cases: [(&str, &str, Vec<Vec<u8>>); 2] = [
        (
            "rtph264pay",
            "video/x-h264,stream-format=byte-stream,alignment=au",
            vec![vec![0x7c, 0x85, 1], vec![0x7d, 0x85, 1], idr(20, 3)],
        ),
        (
            "rtph265pay",
            "video/x-h265,stream-format=byte-stream,alignment=au",
            vec![
                vec![0x60, 0x01, 0, 3],
                vec![0x62, 0x01, 0x93, 1],
                vec![0x64, 0x01, 0x10, 2],
                idr265(20, 3),
            ],
        ),
    ];
    for (element, caps_str, nals) in cases {
        let reserved = nals.len() - 1;
        let refs: Vec<&[u8]> = nals.iter().map(Vec::as_slice).collect();
        let (c, ours) = both(element, &caps(caps_str), &[buffer(&annexb(&refs), 0, KEY)]);
        let c_payloads: Vec<&[u8]> = c.packets.iter().map(|p| p.payload.as_slice()).collect();
        assert_eq!(c_payloads, refs, "{element}: C sends each unit as it is");
        assert_eq!(ours.packets.len(), 1, "{element}");
        let (last, first) = (c.packets.last().unwrap(), &ours.packets[0]);
        assert_eq!((&first.payload, first.marker), (&last.payload, last.marker));
        // The first packet of the key buffer is ours, not a dropped unit's.
        assert!(
            !first.flags.contains(gst::BufferFlags::DELTA_UNIT),
            "{element}"
        );
        assert_eq!(dropped_invalid(&ours), reserved as u64, "{element}");
    }
}

/// Item 5: `aggregate-mode=zero-latency` bundles the NAL units of each input buffer; the
/// bundle leaves at the end of a buffer once it holds a slice (C: one STAP-A/AP per buffer).
#[test]
fn zero_latency_bundles_each_input_buffer_as_c_does() {
    // Two nal-aligned byte-stream buffers of two IDR slices each, same PTS.
    let (a, b) = (idr(48, 1), idr(49, 2));
    let two_slices = buffer(&annexb(&[&a, &b]), 0, KEY);
    let nal_aligned = caps("video/x-h264,stream-format=byte-stream,alignment=nal");
    let input = [two_slices.clone(), two_slices];
    let (c, ours) = both(
        "rtph264pay aggregate-mode=zero-latency",
        &nal_aligned,
        &input,
    );
    assert_eq!(ours.packets, c.packets);
    assert_eq!(ours.packets.len(), 2);
    assert_eq!(ours.packets[0].payload.len() + 12, 114);
    assert_eq!(ours.packets[0].payload[0] & 0x1f, 24, "STAP-A");

    // Parameter sets in buffers of their own wait for the slice.
    let input = [
        buffer(&annexb(&[&SPS]), 0, KEY),
        buffer(&annexb(&[&PPS]), 0, KEY),
        buffer(&annexb(&[&a]), 0, KEY),
    ];
    let (c, ours) = both(
        "rtph264pay aggregate-mode=zero-latency",
        &nal_aligned,
        &input,
    );
    assert_eq!(ours.packets, c.packets);
    assert_eq!(ours.packets.len(), 1);

    // H.265: one AP per buffer (103-byte packets).
    let (a, b) = (idr265(42, 1), idr265(43, 2));
    let two_slices = buffer(&annexb(&[&a, &b]), 0, KEY);
    let input = [two_slices.clone(), two_slices];
    let nal_aligned = caps("video/x-h265,stream-format=byte-stream,alignment=nal");
    let (c, ours) = both(
        "rtph265pay aggregate-mode=zero-latency",
        &nal_aligned,
        &input,
    );
    let payloads = |o: &Outcome| {
        o.packets
            .iter()
            .map(|p| p.payload.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(payloads(&ours), payloads(&c));
    assert_eq!(ours.packets.len(), 2);
    assert_eq!(ours.packets[0].payload.len() + 12, 103);
    assert_eq!(ours.packets[0].payload[0] >> 1, 48, "AP");

    // An avc access unit of two slices: one STAP-A with the marker.
    let avc = caps_with_codec_data("video/x-h264,stream-format=avc,alignment=au", avcc(4));
    let input = [buffer(
        &length_prefixed(&[&slice(30, 1), &slice(31, 2)], 4),
        0,
        DELTA,
    )];
    let (c, ours) = both("rtph264pay aggregate-mode=zero-latency", &avc, &input);
    assert_eq!(ours.packets, c.packets);
    assert_eq!(ours.packets.len(), 1);
    assert!(ours.packets[0].marker);
}

/// Item 6: a NAL unit that is only its header is sent, never trimmed into an error: the
/// H.265 end of sequence `48 00` is one 2-byte packet, from both.
#[test]
fn header_only_nal_unit_is_sent_as_c_does() {
    let caps265 = caps("video/x-h265,stream-format=byte-stream,alignment=au");
    let input = [
        buffer(&annexb(&[&VPS, &SPS265, &PPS265, &idr265(30, 1)]), 0, KEY),
        buffer(&[0, 0, 0, 1, 0x48, 0x00], 40, DELTA),
    ];
    let (c, ours) = both("rtph265pay", &caps265, &input);
    assert!(all_ok(&ours), "{:?}", ours.flows);
    let last = |o: &Outcome| o.packets.last().map(|p| (p.payload.clone(), p.marker));
    assert_eq!(last(&ours), Some((vec![0x48, 0x00], true)));
    assert_eq!(last(&ours), last(&c));
    assert_eq!(ours.packets.len(), c.packets.len());
    assert_eq!(dropped_invalid(&ours), 0);

    // H.264 avc: a 1-byte NAL unit (end of sequence, type 10) is a whole NAL unit.
    let avc = caps_with_codec_data("video/x-h264,stream-format=avc,alignment=au", avcc(4));
    let input = [buffer(
        &length_prefixed(&[&slice(20, 1), &[0x0a]], 4),
        0,
        DELTA,
    )];
    let (c, ours) = both("rtph264pay", &avc, &input);
    assert_eq!(ours.packets, c.packets);
    assert_eq!(ours.packets.len(), 2);
}

/// Item 6, bad input: an hvc1 NAL unit of 1 byte is shorter than the 2-byte H.265 header.
/// Ours drops and counts it and sends the rest (the push returns OK); the C element reads a
/// header byte past the unit. The slice after it goes out the same from both.
#[test]
fn nal_unit_shorter_than_its_header_is_a_counted_drop() {
    let hvc1 = caps_with_codec_data("video/x-h265,stream-format=hvc1,alignment=au", hvcc(4));
    let slice = trail265(25, 4);
    let input = [buffer(&length_prefixed(&[&[0x40], &slice], 4), 0, DELTA)];
    let (c, ours) = both("rtph265pay", &hvc1, &input);
    assert!(all_ok(&ours));
    assert_eq!(dropped_invalid(&ours), 1);
    assert_eq!(ours.packets.len(), 1);
    assert_eq!(ours.packets[0].payload, slice);
    let c_last = c.packets.last().expect("C sends the slice");
    assert_eq!((&c_last.payload, c_last.marker), (&slice, true));
}

/// The flags of each packet: (DELTA_UNIT, DISCONT).
fn delta_discont(o: &Outcome) -> Vec<(bool, bool)> {
    o.packets
        .iter()
        .map(|p| {
            (
                p.flags.contains(gst::BufferFlags::DELTA_UNIT),
                p.flags.contains(gst::BufferFlags::DISCONT),
            )
        })
        .collect()
}

/// In ours, the MARKER flag is on exactly the packets with the marker bit.
fn assert_marker_flag_follows_the_bit(o: &Outcome) {
    for p in &o.packets {
        assert_eq!(p.flags.contains(gst::BufferFlags::MARKER), p.marker);
    }
}

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
    let payloads = |o: &Outcome| {
        o.packets
            .iter()
            .map(|p| p.payload.clone())
            .collect::<Vec<_>>()
    };
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
        let payloads = |o: &Outcome| {
            o.packets
                .iter()
                .map(|p| p.payload.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(payloads(&ours), payloads(&c), "{element}");
        assert_eq!(delta_discont(&ours), delta_discont(&c), "{element}");
        assert_eq!(delta_discont(&ours)[3], (false, true), "{element}");
        assert_marker_flag_follows_the_bit(&ours);
    }
}

/// Item 9: avcC/hvcC with lengthSizeMinusOne = 2 (3-byte NAL lengths) are accepted, as by C,
/// and the samples are split with 3-byte lengths.
#[test]
fn three_byte_nal_lengths_are_accepted_as_c_does() {
    let avc = caps_with_codec_data("video/x-h264,stream-format=avc,alignment=au", avcc(3));
    let input = [
        buffer(&length_prefixed(&[&idr(2000, 1)], 3), 0, KEY),
        buffer(
            &length_prefixed(&[&slice(30, 2), &slice(31, 3)], 3),
            33,
            DELTA,
        ),
    ];
    let (c, ours) = both("rtph264pay", &avc, &input);
    assert!(all_ok(&ours), "{:?}", ours.flows);
    assert_eq!(ours.packets, c.packets);
    assert_eq!(ours.packets.len(), 4);

    let hvc1 = caps_with_codec_data("video/x-h265,stream-format=hvc1,alignment=au", hvcc(3));
    let input = [
        buffer(&length_prefixed(&[&idr265(2000, 1)], 3), 0, KEY),
        buffer(&length_prefixed(&[&trail265(30, 2)], 3), 33, DELTA),
    ];
    let (c, ours) = both("rtph265pay", &hvc1, &input);
    assert!(all_ok(&ours), "{:?}", ours.flows);
    let payloads = |o: &Outcome| {
        o.packets
            .iter()
            .map(|p| p.payload.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(payloads(&ours), payloads(&c));
    assert_eq!(ours.packets.len(), 3);
}

/// Closing note of issue 14, deliberately different: a length-prefixed buffer whose last
/// NAL length runs past its end. C sends the truncated unit; ours sends the complete units
/// before it and drops the broken one (counted), docs/migration.md.
#[test]
fn broken_nal_length_keeps_the_complete_units_before_it() {
    let avc = caps_with_codec_data("video/x-h264,stream-format=avc,alignment=au", avcc(4));
    let (a, b) = (slice(30, 1), slice(40, 2));
    let mut data = length_prefixed(&[&a, &b], 4);
    data.truncate(data.len() - 10);
    let (c, ours) = both("rtph264pay", &avc, &[buffer(&data, 0, DELTA)]);
    assert!(all_ok(&ours));
    assert_eq!(c.packets.len(), 2);
    assert_eq!(c.packets[1].payload, b[..30], "C: the truncated unit");
    assert_eq!(ours.packets.len(), 1);
    assert_eq!(ours.packets[0].payload, a);
    assert_eq!(dropped_invalid(&ours), 1);
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
