// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Access-unit assembly of `rtph264depay2` / `rtph265depay2` side by side with the C
//! `rtph264depay` / `rtph265depay`, on packets built by hand from the RFC layouts: MARKER on
//! access units the marker bit ended (and only those), parameter sets sent with their own
//! timestamp lead the next access unit, a lost fragment drops that NAL unit and keeps the
//! rest of the access unit, loss posts no warning, and fragments with a stepped timestamp.

use gst::prelude::*;

mod common;

/// One packet to send: payload, RTP timestamp, marker; `None` is a packet lost on the way
/// (its sequence number is skipped).
type Packet = Option<(Vec<u8>, u32, bool)>;

/// What a depayloader output: per buffer, its bytes, PTS and the MARKER/DISCONT/DELTA flags;
/// the text of the warning messages it posted.
#[derive(Debug)]
struct Output {
    buffers: Vec<(Vec<u8>, Option<gst::ClockTime>, gst::BufferFlags)>,
    warnings: Vec<String>,
}

const FLAGS: gst::BufferFlags = gst::BufferFlags::from_bits_truncate(
    gst::BufferFlags::MARKER.bits()
        | gst::BufferFlags::DISCONT.bits()
        | gst::BufferFlags::DELTA_UNIT.bits(),
);

fn run(depay: &str, media: &str, alignment: &str, packets: &[Packet]) -> Output {
    common::init();
    let encoding = if media.ends_with("h264") {
        "H264"
    } else {
        "H265"
    };
    let mut h = gst_check::Harness::new_parse(&format!(
        "{depay} name=d ! capsfilter caps=\"{media},stream-format=byte-stream,alignment={alignment}\""
    ));
    let bus = gst::Bus::new();
    h.element().unwrap().set_bus(Some(&bus));
    h.set_src_caps_str(&format!(
        "application/x-rtp,media=video,clock-rate=90000,encoding-name={encoding},payload=96"
    ));
    for (seq, p) in packets.iter().enumerate() {
        if let Some((payload, ts, marker)) = p {
            let rtp = common::rtp_packet(96, seq as u16, *ts, 7, *marker, payload);
            let mut buffer = gst::Buffer::from_mut_slice(rtp);
            buffer
                .get_mut()
                .unwrap()
                .set_pts(gst::ClockTime::from_nseconds(u64::from(*ts) * 100_000 / 9));
            h.push(buffer).unwrap();
        }
    }
    h.push_event(gst::event::Eos::new());
    let mut buffers = Vec::new();
    while let Some(b) = h.try_pull() {
        let bytes = b.map_readable().unwrap().to_vec();
        buffers.push((bytes, b.pts(), b.flags() & FLAGS));
    }
    let mut warnings = Vec::new();
    while let Some(msg) = bus.pop() {
        if let gst::MessageView::Warning(w) = msg.view() {
            warnings.push(w.error().to_string());
        }
    }
    Output { buffers, warnings }
}

/// Runs ours and C's on the same packets; returns (ours, C's).
fn both(codec: &str, alignment: &str, packets: &[Packet]) -> (Output, Output) {
    let media = format!("video/x-{codec}");
    (
        run(&format!("rtp{codec}depay2"), &media, alignment, packets),
        run(&format!("rtp{codec}depay"), &media, alignment, packets),
    )
}

fn flags_of(out: &Output) -> Vec<(usize, bool)> {
    out.buffers
        .iter()
        .map(|(b, _, f)| (b.len(), f.contains(gst::BufferFlags::MARKER)))
        .collect()
}

fn annexb(nals: &[&[u8]]) -> Vec<u8> {
    nals.iter()
        .flat_map(|n| [&[0u8, 0, 0, 1][..], n].concat())
        .collect()
}

// H.264 NAL units (RFC 6184 §1.3 header: F, NRI, type). A slice's first payload byte starts
// first_mb_in_slice (ue(v)): 0x80 is 0 (a picture's first slice), 0x40 is 1.
const SPS: &[u8] = &[0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x47, 0xfe, 0xc8];
const PPS: &[u8] = &[0x68, 0xce, 0x3c, 0x80];
const IDR: &[u8] = &[0x65, 0x88, 0x84, 0x00, 0x33, 0xff];

fn h264_slice(first: bool, tag: u8) -> Vec<u8> {
    vec![0x41, if first { 0x80 } else { 0x40 }, 0x9a, tag, tag, tag]
}

/// STAP-A (RFC 6184 §5.7.1): header type 24, then 16-bit size + NAL unit per unit.
fn stap_a(nals: &[&[u8]]) -> Vec<u8> {
    let mut p = vec![0x78];
    for n in nals {
        p.extend_from_slice(&(n.len() as u16).to_be_bytes());
        p.extend_from_slice(n);
    }
    p
}

/// FU-A (RFC 6184 §5.8) fragments of `nal`, `parts` of them.
fn fu_a(nal: &[u8], parts: usize) -> Vec<Vec<u8>> {
    let body = &nal[1..];
    let chunk = body.len().div_ceil(parts);
    let count = body.chunks(chunk).count();
    body.chunks(chunk)
        .enumerate()
        .map(|(i, c)| {
            let s = if i == 0 { 0x80 } else { 0 };
            let e = if i + 1 == count { 0x40 } else { 0 };
            [&[(nal[0] & 0xe0) | 28, s | e | (nal[0] & 0x1f)][..], c].concat()
        })
        .collect()
}

/// Issue 14 item 1: MARKER on an access unit the marker bit ended (single NAL unit and FU-A
/// ending), not on one ended by a timestamp change nor on the last one flushed by EOS; in
/// nal alignment only the last NAL unit of a marker-ended access unit has it.
#[test]
fn h264_marker_flag_follows_the_marker_bit() {
    let idr_frags = fu_a(IDR, 3);
    let mut packets: Vec<Packet> = vec![
        Some((stap_a(&[SPS, PPS]), 0, false)),
        Some((idr_frags[0].clone(), 0, false)),
        Some((idr_frags[1].clone(), 0, false)),
        Some((idr_frags[2].clone(), 0, true)),
        // Ended by the next timestamp, no marker.
        Some((h264_slice(true, 1), 3000, false)),
        // Two slices, the last with the marker (single NAL unit packets).
        Some((h264_slice(true, 2), 6000, false)),
        Some((h264_slice(false, 3), 6000, true)),
    ];
    // A FU-A-fragmented slice with the marker on its end fragment.
    for (i, f) in fu_a(&h264_slice(true, 4), 2).into_iter().enumerate() {
        packets.push(Some((f, 9000, i == 1)));
    }
    // The last access unit has no marker: EOS flushes it.
    packets.push(Some((h264_slice(true, 5), 12000, false)));
    for alignment in ["au", "nal"] {
        let (ours, c) = both("h264", alignment, &packets);
        assert_eq!(flags_of(&ours), flags_of(&c), "{alignment}: ours vs C");
        let bytes = |o: &Output| o.buffers.iter().map(|b| b.0.clone()).collect::<Vec<_>>();
        assert_eq!(bytes(&ours), bytes(&c), "{alignment}: same bytes");
        let marked = flags_of(&ours).iter().filter(|(_, m)| *m).count();
        assert_eq!(marked, 3, "{alignment}: {:?}", flags_of(&ours));
    }
    let (ours, _) = both("h264", "au", &packets);
    let expected_au_markers = vec![true, false, true, true, false];
    assert_eq!(
        flags_of(&ours).iter().map(|f| f.1).collect::<Vec<_>>(),
        expected_au_markers
    );
}

/// Issue 14 item 3: SPS+PPS in a STAP-A at their own timestamp without the marker, then a
/// STAP-A of four slices at another timestamp with the marker: one access unit (parameter
/// sets first), as C outputs it.
#[test]
fn h264_parameter_sets_with_their_own_timestamp_lead_the_next_access_unit() {
    let slices: Vec<Vec<u8>> = (0..4).map(|i| h264_slice(i == 0, i as u8)).collect();
    let refs: Vec<&[u8]> = slices.iter().map(|s| s.as_slice()).collect();
    let packets: Vec<Packet> = vec![
        Some((stap_a(&[SPS, PPS]), 0, false)),
        Some((stap_a(&refs), 22500, true)),
    ];
    let (ours, c) = both("h264", "au", &packets);
    assert_eq!(ours.buffers.len(), 1, "{ours:?}");
    assert_eq!(c.buffers.len(), 1, "{c:?}");
    let expected = annexb(&[&[SPS, PPS][..], &refs].concat());
    assert_eq!(ours.buffers[0].0, expected);
    assert_eq!(c.buffers[0].0, expected);
    assert_eq!(flags_of(&ours), flags_of(&c));
    assert_eq!(ours.buffers[0].1, c.buffers[0].1, "same PTS");
    assert!(ours.buffers[0].2.contains(gst::BufferFlags::MARKER));
}

/// Issue 15 item 1: a fragment of one slice is lost; the other slice of the picture and the
/// parameter sets still reach the decoder (DISCONT), as with C, and loss posts no warning.
#[test]
fn h264_lost_fragment_keeps_the_rest_of_the_access_unit() {
    let big = [&[0x65u8][..], &[0x88; 40]].concat();
    let frags = fu_a(&big, 4);
    let mut packets: Vec<Packet> = vec![
        Some((h264_slice(true, 0), 0, true)),
        Some((stap_a(&[SPS, PPS]), 3000, false)),
    ];
    for (i, f) in frags.iter().enumerate() {
        // The second fragment is lost.
        packets.push((i != 1).then(|| (f.clone(), 3000, false)));
    }
    packets.push(Some((
        [&[0x65u8, 0x40][..], &[0x77; 8]].concat(),
        3000,
        true,
    )));
    packets.push(Some((h264_slice(true, 2), 6000, true)));
    let (ours, c) = both("h264", "au", &packets);
    assert!(
        ours.warnings.is_empty(),
        "no warning for loss: {:?}",
        ours.warnings
    );
    assert_eq!(ours.buffers.len(), 3, "{ours:?}");
    let keyframe = &ours.buffers[1];
    assert_eq!(
        keyframe.0,
        annexb(&[SPS, PPS, &[&[0x65u8, 0x40][..], &[0x77; 8]].concat()])
    );
    assert!(keyframe.2.contains(gst::BufferFlags::DISCONT));
    assert!(!keyframe.2.contains(gst::BufferFlags::DELTA_UNIT));
    // C gives the decoder the same access units (it drops the incomplete NAL unit too).
    assert_eq!(c.buffers.len(), 3, "{c:?}");
    for (ours, c) in ours.buffers.iter().zip(&c.buffers) {
        assert_eq!(ours.0, c.0, "same access units as C");
        assert_eq!(ours.1, c.1, "same PTS");
    }
}

/// A slice whose later FU-A fragments carry RTP timestamp + 1 (against RFC 6184 §5.8): C
/// reassembles it, so do we (with the start fragment's timestamp).
#[test]
fn h264_fragments_with_a_stepped_timestamp_are_reassembled_as_by_c() {
    let slice = [&[0x65u8][..], &[0x88; 30]].concat();
    let frags = fu_a(&slice, 3);
    let packets: Vec<Packet> = vec![
        Some((stap_a(&[SPS, PPS]), 3000, false)),
        Some((frags[0].clone(), 3000, false)),
        Some((frags[1].clone(), 3001, false)),
        Some((frags[2].clone(), 3001, true)),
    ];
    let (ours, c) = both("h264", "au", &packets);
    let expected = annexb(&[SPS, PPS, &slice]);
    assert_eq!(ours.buffers.len(), 1, "{ours:?}");
    assert_eq!(ours.buffers[0].0, expected);
    assert!(
        c.buffers.iter().any(|b| b.0.ends_with(&slice)),
        "C reassembles it too: {c:?}"
    );
    assert!(ours.warnings.is_empty(), "{:?}", ours.warnings);
}

// H.265 NAL units (RFC 7798 §1.1.4 header: F, type, layer id, TID + 1).
const VPS: &[u8] = &[0x40, 0x01, 0x0c, 0x01, 0xff, 0xff];
const HSPS: &[u8] = &[0x42, 0x01, 0x01, 0x01, 0x60, 0x00];
const HPPS: &[u8] = &[0x44, 0x01, 0xc1, 0x72, 0xb4];

/// A TRAIL_R slice (type 1); first_slice_segment_in_pic_flag is the first payload bit.
fn h265_slice(first: bool, tag: u8) -> Vec<u8> {
    vec![0x02, 0x01, if first { 0xd0 } else { 0x50 }, 0x9a, tag, tag]
}

/// Aggregation packet (RFC 7798 §4.4.2): payload header type 48, then size + NAL unit.
fn ap(nals: &[&[u8]]) -> Vec<u8> {
    let mut p = vec![0x60, 0x01];
    for n in nals {
        p.extend_from_slice(&(n.len() as u16).to_be_bytes());
        p.extend_from_slice(n);
    }
    p
}

/// Fragmentation units (RFC 7798 §4.4.3) of `nal`, `parts` of them.
fn fu(nal: &[u8], parts: usize) -> Vec<Vec<u8>> {
    let body = &nal[2..];
    let chunk = body.len().div_ceil(parts);
    let count = body.chunks(chunk).count();
    let kind = (nal[0] >> 1) & 0x3f;
    body.chunks(chunk)
        .enumerate()
        .map(|(i, c)| {
            let s = if i == 0 { 0x80 } else { 0 };
            let e = if i + 1 == count { 0x40 } else { 0 };
            [&[(nal[0] & 0x81) | (49 << 1), nal[1], s | e | kind][..], c].concat()
        })
        .collect()
}

/// Issue 14 item 1 for H.265: MARKER as in H.264, single NAL unit and FU ending.
#[test]
fn h265_marker_flag_follows_the_marker_bit() {
    let mut packets: Vec<Packet> = vec![
        Some((ap(&[VPS, HSPS, HPPS]), 0, false)),
        Some((h265_slice(true, 0), 0, true)),
        Some((h265_slice(true, 1), 3000, false)),
        Some((h265_slice(true, 2), 6000, false)),
        Some((h265_slice(false, 3), 6000, true)),
    ];
    let long = [&h265_slice(true, 4)[..], &[0x55; 20]].concat();
    for (i, f) in fu(&long, 2).into_iter().enumerate() {
        packets.push(Some((f, 9000, i == 1)));
    }
    packets.push(Some((h265_slice(true, 5), 12000, false)));
    for alignment in ["au", "nal"] {
        let (ours, c) = both("h265", alignment, &packets);
        assert_eq!(flags_of(&ours), flags_of(&c), "{alignment}: ours vs C");
        let bytes = |o: &Output| o.buffers.iter().map(|b| b.0.clone()).collect::<Vec<_>>();
        assert_eq!(bytes(&ours), bytes(&c), "{alignment}: same bytes");
        let marked = flags_of(&ours).iter().filter(|(_, m)| *m).count();
        assert_eq!(marked, 3, "{alignment}: {:?}", flags_of(&ours));
    }
}

/// Issue 14 item 3 for H.265: VPS/SPS/PPS in an AP at their own timestamp lead the next
/// access unit.
#[test]
fn h265_parameter_sets_with_their_own_timestamp_lead_the_next_access_unit() {
    let slices: Vec<Vec<u8>> = (0..4).map(|i| h265_slice(i == 0, i as u8)).collect();
    let refs: Vec<&[u8]> = slices.iter().map(|s| s.as_slice()).collect();
    let packets: Vec<Packet> = vec![
        Some((ap(&[VPS, HSPS, HPPS]), 0, false)),
        Some((ap(&refs), 22500, true)),
    ];
    let (ours, c) = both("h265", "au", &packets);
    let expected = annexb(&[&[VPS, HSPS, HPPS][..], &refs].concat());
    assert_eq!(ours.buffers.len(), 1, "{ours:?}");
    assert_eq!(ours.buffers[0].0, expected);
    assert_eq!(c.buffers.len(), 1, "{c:?}");
    assert_eq!(c.buffers[0].0, expected);
    assert_eq!(flags_of(&ours), flags_of(&c));
    assert_eq!(ours.buffers[0].1, c.buffers[0].1, "same PTS");
}

/// A sender that only ever sends SEI, each at its own timestamp: the held non-VCL units are
/// bounded like an access unit and go out at the bound.
#[test]
fn endless_non_vcl_units_are_bounded() {
    common::init();
    let mut h = gst_check::Harness::new_parse(
        "rtph264depay2 ! capsfilter caps=\"video/x-h264,stream-format=byte-stream,alignment=au\"",
    );
    h.set_src_caps_str("application/x-rtp,media=video,clock-rate=90000,encoding-name=H264");
    let sei = [0x06, 0x05, 0x01, 0xaa, 0x80];
    let mut outputs = 0;
    for seq in 0..2100u16 {
        let rtp = common::rtp_packet(96, seq, u32::from(seq) * 3000, 7, true, &sei);
        h.push(gst::Buffer::from_mut_slice(rtp)).unwrap();
        while h.try_pull().is_some() {
            outputs += 1;
        }
    }
    assert!(outputs >= 1, "held SEI went out at the bound before EOS");
}

/// Packets without payload, as WebRTC senders send them to probe bandwidth (RFC 3550 §5.1: P
/// bit set, the payload all padding), between the packets of an access unit and between
/// access units: C skips them silently; ours too (counted in `stats`, no warning), and the
/// access units are the same.
#[test]
fn padding_only_packets_are_skipped_without_warning_as_by_c() {
    // A padding-only payload: the run() helper appends no padding, so the packets are built
    // here with the P bit and a padding count as the last byte.
    fn padding_only(seq: u16, ts: u32) -> gst::Buffer {
        let mut rtp = common::rtp_packet(96, seq, ts, 7, false, &[0, 0, 0, 4]);
        rtp[0] |= 0x20;
        let mut buffer = gst::Buffer::from_mut_slice(rtp);
        buffer
            .get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_nseconds(u64::from(ts) * 100_000 / 9));
        buffer
    }
    let frags = fu_a(&[&[0x65u8][..], &[0x88; 40]].concat(), 3);
    let run_one = |depay: &str, inside_fragmented_nal: bool| {
        common::init();
        let mut h = gst_check::Harness::new_parse(&format!(
            "{depay} name=d ! capsfilter caps=\"video/x-h264,stream-format=byte-stream,alignment=au\""
        ));
        let bus = gst::Bus::new();
        h.element().unwrap().set_bus(Some(&bus));
        h.set_src_caps_str(
            "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96",
        );
        let media = |seq: u16, payload: &[u8], ts: u32, marker: bool| {
            let mut b =
                gst::Buffer::from_mut_slice(common::rtp_packet(96, seq, ts, 7, marker, payload));
            b.get_mut()
                .unwrap()
                .set_pts(gst::ClockTime::from_nseconds(u64::from(ts) * 100_000 / 9));
            b
        };
        // Sequence numbers without a gap whichever packets are sent.
        let mut seq = 0u16;
        let mut next = || {
            seq += 1;
            seq
        };
        h.push(media(next(), &stap_a(&[SPS, PPS]), 3000, false))
            .unwrap();
        h.push(media(next(), &frags[0], 3000, false)).unwrap();
        if inside_fragmented_nal {
            h.push(padding_only(next(), 3000)).unwrap();
        }
        h.push(media(next(), &frags[1], 3000, false)).unwrap();
        h.push(media(next(), &frags[2], 3000, true)).unwrap();
        h.push(padding_only(next(), 3000)).unwrap();
        h.push(padding_only(next(), 3000)).unwrap();
        h.push(media(next(), &h264_slice(true, 1), 6000, true))
            .unwrap();
        h.push_event(gst::event::Eos::new());
        let mut buffers = Vec::new();
        while let Some(b) = h.try_pull() {
            buffers.push((b.map_readable().unwrap().to_vec(), b.flags() & FLAGS));
        }
        let mut warnings = Vec::new();
        while let Some(msg) = bus.pop() {
            if let gst::MessageView::Warning(w) = msg.view() {
                warnings.push(w.error().to_string());
            }
        }
        let depay = h
            .element()
            .unwrap()
            .downcast::<gst::Bin>()
            .unwrap()
            .by_name("d")
            .unwrap();
        let stats = depay.property::<gst::Structure>("stats");
        (buffers, warnings, stats)
    };
    // Between access units, side by side with C. (Inside a fragmented NAL unit the C
    // rtph264depay of GStreamer 1.22 crashes: a critical from gst_adapter_take_buffer, then
    // SIGSEGV; so that case runs on ours alone, below.)
    let (ours, ours_warnings, stats) = run_one("rtph264depay2", false);
    let (c, c_warnings, _) = run_one("rtph264depay", false);
    assert!(c_warnings.is_empty(), "{c_warnings:?}");
    assert!(ours_warnings.is_empty(), "no warning: {ours_warnings:?}");
    assert_eq!(ours.len(), 2, "{ours:?}");
    assert_eq!(
        ours.iter().map(|b| &b.0).collect::<Vec<_>>(),
        c.iter().map(|b| &b.0).collect::<Vec<_>>(),
        "same access units as C"
    );
    // Nothing was lost: only the first output is DISCONT.
    assert!(!ours[1].1.contains(gst::BufferFlags::DISCONT));
    assert_eq!(
        stats.get::<u64>("packets-without-payload").unwrap(),
        2,
        "{stats}"
    );
    assert_eq!(stats.get::<u64>("dropped-payload").unwrap(), 0, "{stats}");
    assert_eq!(stats.get::<u64>("packets-lost").unwrap(), 0, "{stats}");
    // Inside a fragmented NAL unit: the same access units, one more skipped packet.
    let (inside, inside_warnings, inside_stats) = run_one("rtph264depay2", true);
    assert!(
        inside_warnings.is_empty(),
        "no warning: {inside_warnings:?}"
    );
    assert_eq!(
        inside, ours,
        "the padding-only packet inside the FU changes nothing"
    );
    assert_eq!(
        inside_stats.get::<u64>("packets-without-payload").unwrap(),
        3,
        "{inside_stats}"
    );
}
