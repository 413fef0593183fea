// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Shared by the FEC tests: media packets written by hand (RFC 3550 §5.1), elements driven
//! through a harness, and GStreamer's C ULPFEC decoder (`rtpstorage ! rtpulpfecdec`, told of
//! each loss with a `GstRTPPacketLost` event, as a jitterbuffer would).
#![allow(dead_code)]

use gst::prelude::*;

pub const SSRC: u32 = 0x1234_5678;
pub const MEDIA_PT: u8 = 96;
pub const FEC_PT: u8 = 122;
pub const CAPS: &str = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96,ssrc=(uint)305419896";
/// 30 fps at 90 kHz.
pub const FRAME_TICKS: u32 = 3000;

/// `frames` frames of `per_frame` packets (marker on the last), sequence numbers from
/// `seq0`, payload sizes and bytes varying with the packet.
pub fn media(frames: usize, per_frame: usize, seq0: u16) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for f in 0..frames {
        for i in 0..per_frame {
            let n = f * per_frame + i;
            let payload: Vec<u8> = (0..(60 + (n * 37) % 700))
                .map(|k| (k as u8).wrapping_mul(7).wrapping_add(n as u8))
                .collect();
            out.push(super::common::rtp_packet(
                MEDIA_PT,
                seq0.wrapping_add(n as u16),
                1000 + f as u32 * FRAME_TICKS,
                SSRC,
                i + 1 == per_frame,
                &payload,
            ));
        }
    }
    out
}

pub fn seq(p: &[u8]) -> u16 {
    u16::from_be_bytes([p[2], p[3]])
}

pub fn pt(p: &[u8]) -> u8 {
    p[1] & 0x7f
}

/// `p` without its sequence number (for comparing renumbered packets).
pub fn without_seq(p: &[u8]) -> Vec<u8> {
    let mut p = p.to_vec();
    p[2] = 0;
    p[3] = 0;
    p
}

fn buffer(p: &[u8], i: usize) -> gst::Buffer {
    let mut b = gst::Buffer::from_mut_slice(p.to_vec());
    b.get_mut()
        .unwrap()
        .set_pts(gst::ClockTime::from_mseconds(10 * i as u64));
    b
}

fn bytes(b: &gst::Buffer) -> Vec<u8> {
    b.map_readable().unwrap().to_vec()
}

/// Pushes `packets` through the element(s) `launch` and returns what comes out, EOS included.
pub fn run(launch: &str, packets: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut h = gst_check::Harness::new_parse(launch);
    h.set_src_caps_str(CAPS);
    let mut out = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        h.push(buffer(p, i)).unwrap();
        while let Some(b) = h.try_pull() {
            out.push(bytes(&b));
        }
    }
    h.push_event(gst::event::Eos::new());
    while let Some(b) = h.try_pull() {
        out.push(bytes(&b));
    }
    out
}

/// GStreamer's C decoder on `stream` with the packets of sequence numbers `lost` removed:
/// after all packets, one `GstRTPPacketLost` event per lost packet. Returns the packets it
/// recovered (in order of the events).
pub fn c_recovers(stream: &[Vec<u8>], lost: &[u16]) -> Vec<Vec<u8>> {
    let mut h = gst_check::Harness::new_parse("rtpstorage size-time=10000000000 ! rtpulpfecdec");
    let storage: glib::Object = h
        .find_element("rtpstorage")
        .expect("rtpstorage (gst-plugins-good) is needed: apt install gstreamer1.0-plugins-good")
        .property("internal-storage");
    let dec = h.find_element("rtpulpfecdec").unwrap();
    dec.set_property("storage", &storage);
    dec.set_property("pt", u32::from(FEC_PT));
    h.set_src_caps_str(CAPS);
    for (i, p) in stream.iter().enumerate() {
        if !lost.contains(&seq(p)) {
            h.push(buffer(p, i)).unwrap();
        }
    }
    while h.try_pull().is_some() {}
    let mut recovered = Vec::new();
    for &s in lost {
        let ev = gst::event::CustomDownstream::new(
            gst::Structure::builder("GstRTPPacketLost")
                .field("seqnum", u32::from(s))
                .field("timestamp", 0u64)
                .field("duration", 10_000_000u64)
                .build(),
        );
        h.push_event(ev);
        while let Some(b) = h.try_pull() {
            recovered.push(bytes(&b));
        }
    }
    recovered
}

/// What `rtpulpfecdec2` makes of `stream` with the packets of sequence numbers `lost`
/// removed.
pub fn ours_decodes(stream: &[Vec<u8>], lost: &[u16]) -> Vec<Vec<u8>> {
    let kept: Vec<Vec<u8>> = stream
        .iter()
        .filter(|p| !lost.contains(&seq(p)))
        .cloned()
        .collect();
    run(&format!("rtpulpfecdec2 pt={FEC_PT}"), &kept)
}

/// (sequence number, length) of each packet: what an assertion prints instead of bytes.
pub fn summary(packets: &[Vec<u8>]) -> Vec<(u16, usize)> {
    packets.iter().map(|p| (seq(p), p.len())).collect()
}

/// Asserts `got == want`, printing summaries, not bytes.
pub fn assert_packets(got: &[Vec<u8>], want: &[Vec<u8>], what: &str) {
    assert_eq!(summary(got), summary(want), "{what}");
    assert!(
        got == want,
        "{what}: same numbers and lengths, different bytes"
    );
}
