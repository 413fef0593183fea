// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Shared by the payloader parity tests (`parity_pay.rs`, `parity_pay_flags.rs`): running our
//! payloader and the C one on the same input, and inputs written out by hand from RFC
//! 6184/7798 and ISO/IEC 14496-15 (NAL units, avcC/hvcC records).
#![allow(dead_code)]

use gst::prelude::*;

/// One output packet: what the wire and the downstream elements see.
#[derive(Clone, PartialEq, Eq)]
pub struct Packet {
    pub payload: Vec<u8>,
    pub marker: bool,
    /// DELTA_UNIT, DISCONT and MARKER buffer flags.
    pub flags: gst::BufferFlags,
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
pub struct Outcome {
    pub packets: Vec<Packet>,
    /// Flow returns of the pushes.
    pub flows: Vec<Result<gst::FlowSuccess, gst::FlowError>>,
    pub stats: Option<gst::Structure>,
}

pub const FLAGS: gst::BufferFlags = gst::BufferFlags::DELTA_UNIT
    .union(gst::BufferFlags::DISCONT)
    .union(gst::BufferFlags::MARKER);

/// Runs `buffers` through `element` (a launch line) in a harness with input `caps`; an index
/// `i` in `flush_before` sends flush-start/stop and a new segment before buffer `i`.
pub fn run(
    element: &str,
    caps: &gst::Caps,
    buffers: &[gst::Buffer],
    flush_before: &[usize],
) -> Outcome {
    crate::common::init();
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
pub fn buffer(data: &[u8], pts_ms: u64, flags: gst::BufferFlags) -> gst::Buffer {
    crate::common::init();
    let mut b = gst::Buffer::from_mut_slice(data.to_vec());
    {
        let b = b.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_mseconds(pts_ms));
        b.set_flags(flags);
    }
    b
}

/// Annex B: each NAL unit after a 4-byte start code.
pub fn annexb(nals: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for n in nals {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(n);
    }
    out
}

/// Each NAL unit after a `size`-byte big-endian length (ISO/IEC 14496-15 samples).
pub fn length_prefixed(nals: &[&[u8]], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for n in nals {
        out.extend_from_slice(&(n.len() as u32).to_be_bytes()[4 - size..]);
        out.extend_from_slice(n);
    }
    out
}

pub fn caps(s: &str) -> gst::Caps {
    crate::common::init();
    s.parse().unwrap()
}

/// `caps` with a `codec_data` buffer.
pub fn caps_with_codec_data(s: &str, codec_data: Vec<u8>) -> gst::Caps {
    let mut caps = caps(s);
    caps.make_mut()
        .set("codec_data", gst::Buffer::from_mut_slice(codec_data));
    caps
}

/// Runs the same input through the C element and ours (`<c>2`, with the same properties).
pub fn both(c: &str, caps: &gst::Caps, buffers: &[gst::Buffer]) -> (Outcome, Outcome) {
    let (name, props) = c.split_once(' ').unwrap_or((c, ""));
    let c_out = run(c, caps, buffers, &[]);
    let ours = run(&format!("{name}2 {props}"), caps, buffers, &[]);
    (c_out, ours)
}

pub fn dropped_invalid(o: &Outcome) -> u64 {
    o.stats
        .as_ref()
        .and_then(|s| s.get::<u64>("dropped-invalid").ok())
        .expect("stats with dropped-invalid")
}

pub fn all_ok(o: &Outcome) -> bool {
    o.flows.iter().all(|f| f.is_ok())
}

/// H.264 SPS (Baseline, level 3.1, id 0) and PPS (id 0), as an encoder writes them.
pub const SPS: [u8; 8] = [0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16];
pub const PPS: [u8; 4] = [0x68, 0xce, 0x3c, 0x80];

/// An H.264 IDR slice (nal_ref_idc 3, type 5, first_mb_in_slice 0) of `len` bytes.
pub fn idr(len: usize, fill: u8) -> Vec<u8> {
    let mut n = vec![0x65, 0x88];
    n.resize(len, fill);
    n
}

/// A non-IDR H.264 slice (nal_ref_idc 2, type 1).
pub fn slice(len: usize, fill: u8) -> Vec<u8> {
    let mut n = vec![0x41, 0x9a];
    n.resize(len, fill);
    n
}

/// avcC (ISO/IEC 14496-15 §5.3.3.1.2): version 1, profile/compatibility/level from the SPS,
/// lengthSizeMinusOne, one SPS and one PPS with 16-bit lengths.
pub fn avcc(length_size: u8) -> Vec<u8> {
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
pub const VPS: [u8; 24] = [
    0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x03, 0x00, 0x3f, 0x95, 0x94, 0x09,
];
pub const SPS265: [u8; 49] = [
    0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03,
    0x00, 0x3f, 0xa0, 0x0a, 0x08, 0x0f, 0x16, 0x59, 0x59, 0x52, 0x93, 0x0b, 0xff, 0xc0, 0x00, 0x40,
    0x00, 0x5a, 0x83, 0x03, 0x03, 0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x3c,
    0x10,
];
pub const PPS265: [u8; 6] = [0x44, 0x01, 0xc0, 0x73, 0xc1, 0x89];

/// An H.265 IDR_W_RADL slice (type 19, TID 1, first_slice_segment_in_pic_flag 1).
pub fn idr265(len: usize, fill: u8) -> Vec<u8> {
    let mut n = vec![0x26, 0x01, 0xaf];
    n.resize(len, fill);
    n
}

/// A TRAIL_R slice (type 1, TID 1).
pub fn trail265(len: usize, fill: u8) -> Vec<u8> {
    let mut n = vec![0x02, 0x01, 0xd0];
    n.resize(len, fill);
    n
}

/// hvcC (ISO/IEC 14496-15 §8.3.3.1.2) for the SPS above, with lengthSizeMinusOne and one
/// array each of VPS, SPS and PPS.
pub fn hvcc(length_size: u8) -> Vec<u8> {
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

pub const KEY: gst::BufferFlags = gst::BufferFlags::empty();
pub const DELTA: gst::BufferFlags = gst::BufferFlags::DELTA_UNIT;

/// The flags of each packet: (DELTA_UNIT, DISCONT).
pub fn delta_discont(o: &Outcome) -> Vec<(bool, bool)> {
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
pub fn assert_marker_flag_follows_the_bit(o: &Outcome) {
    for p in &o.packets {
        assert_eq!(p.flags.contains(gst::BufferFlags::MARKER), p.marker);
    }
}

/// The payloads of the packets.
pub fn payloads(o: &Outcome) -> Vec<Vec<u8>> {
    o.packets.iter().map(|p| p.payload.clone()).collect()
}
