// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Malformed RTP packets pushed into every depayloader through the harness: truncated
//! headers, wrong version, a CSRC count past the end, bad padding, an extension length past
//! the end. Each is a warning and a counted drop (`dropped-invalid`), never a panic or a flow
//! error, and valid packets after them still come out.

use gst::prelude::*;

mod common;

use common::rtp_packet;

/// Malformed variants of a valid packet `p` (12-byte header, then payload).
fn malformed(p: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut cases = vec![
        ("empty", vec![]),
        ("truncated header", p[..7].to_vec()),
        ("11 bytes", p[..11].to_vec()),
    ];
    let mut v = p.to_vec();
    v[0] = (v[0] & 0x3f) | 0x40;
    cases.push(("version 1", v));
    let mut v = p[..14].to_vec();
    v[0] = (v[0] & 0xf0) | 0x0f;
    cases.push(("15 CSRCs past the end", v));
    let mut v = p.to_vec();
    v[0] |= 0x20;
    *v.last_mut().unwrap() = 0;
    cases.push(("padding length 0", v));
    let mut v = p.to_vec();
    v[0] |= 0x20;
    *v.last_mut().unwrap() = 250;
    cases.push(("padding past the end", v));
    let mut v = p[..12].to_vec();
    v[0] |= 0x10;
    v.extend_from_slice(&[0xbe, 0xde, 0x40, 0x00, 1, 2, 3, 4]);
    cases.push(("extension length past the end", v));
    let mut v = p[..12].to_vec();
    v[0] |= 0x10;
    v.extend_from_slice(&[0xbe]);
    cases.push(("extension header cut", v));
    cases
}

fn check(element: &str, caps: &str, payload_of: impl Fn(u16) -> Vec<u8>, pt: u8) {
    common::init();
    let mut h = gst_check::Harness::new(element);
    h.set_src_caps_str(caps);
    let valid = |seq: u16| rtp_packet(pt, seq, u32::from(seq) * 3000, 42, true, &payload_of(seq));
    h.push(gst::Buffer::from_mut_slice(valid(0))).unwrap();
    let cases = malformed(&valid(1));
    for (what, bytes) in &cases {
        let res = h.push(gst::Buffer::from_mut_slice(bytes.clone()));
        assert!(res.is_ok(), "{element}: {what} stopped the stream: {res:?}");
    }
    for seq in 1..6 {
        h.push(gst::Buffer::from_mut_slice(valid(seq))).unwrap();
    }
    h.push_event(gst::event::Eos::new());
    let mut outputs = 0;
    while h.try_pull().is_some() {
        outputs += 1;
    }
    assert!(
        outputs >= 5,
        "{element}: valid packets after the bad ones: {outputs}"
    );
    let stats = h.element().unwrap().property::<gst::Structure>("stats");
    assert_eq!(
        stats.get::<u64>("dropped-invalid").unwrap(),
        cases.len() as u64,
        "{element}: {stats}"
    );
}

#[test]
fn g722_depayloader() {
    check(
        "rtpg722depay2",
        "application/x-rtp,media=audio,clock-rate=8000,encoding-name=G722,payload=9",
        |seq| vec![seq as u8; 160],
        9,
    );
}

#[test]
fn g729_depayloader() {
    check(
        "rtpg729depay2",
        "application/x-rtp,media=audio,clock-rate=8000,encoding-name=G729,payload=18",
        |seq| vec![seq as u8 | 1; 20],
        18,
    );
}

#[test]
fn h264_depayloader() {
    check(
        "rtph264depay2",
        "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96",
        // IDR slices, so that each packet is a keyframe access unit.
        |seq| vec![0x65, 0x88, seq as u8, 0x10, 0x20],
        96,
    );
}

#[test]
fn h265_depayloader() {
    check(
        "rtph265depay2",
        "application/x-rtp,media=video,clock-rate=90000,encoding-name=H265,payload=96",
        |seq| vec![0x26, 0x01, 0xaf, seq as u8, 0x10],
        96,
    );
}

/// A sender that never sets the marker bit nor changes the timestamp: the access unit being
/// assembled is output once it reaches its bound, with a warning, instead of growing.
#[test]
fn endless_access_unit_is_bounded() {
    common::init();
    let mut h = gst_check::Harness::new("rtph264depay2");
    h.set_src_caps_str(
        "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96",
    );
    let limit = 2048;
    for seq in 0..(limit as u16 * 2 + 10) {
        let p = rtp_packet(96, seq, 1000, 7, false, &[0x41, 0x9a, seq as u8]);
        h.push(gst::Buffer::from_mut_slice(p)).unwrap();
    }
    let mut outputs = 0;
    while h.try_pull().is_some() {
        outputs += 1;
    }
    assert_eq!(outputs, 2, "two full access units were forced out");
}
