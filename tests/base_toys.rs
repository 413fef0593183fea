// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The contracts of the three base classes, tested through toy subclasses registered by this
//! test (not through a codec): each test is a step table, input → the packets or outputs
//! expected right after it (sequence numbers, timestamps, marker, flags, payload bytes), then
//! the `stats` counters. Input packets are written byte by byte (RFC 3550 §5.1) and outputs
//! read with GStreamer's own RTP parser, not ours.

mod common;
#[path = "base_toys/depay.rs"]
mod toy_depay;
#[path = "base_toys/filter.rs"]
mod toy_filter;
#[path = "base_toys/pay.rs"]
mod toy_pay;

#[path = "base_toys/depay_steps.rs"]
mod depay_steps;
#[path = "base_toys/filter_steps.rs"]
mod filter_steps;
#[path = "base_toys/pay_steps.rs"]
mod pay_steps;

use common::{rtp_fields, rtp_packet};

const TOY_RTP_CAPS: &str = "application/x-rtp,media=application,clock-rate=8000,encoding-name=TOY";

fn init() {
    common::init();
    toy_pay::register();
    toy_depay::register();
    toy_filter::register();
}

fn pull_all(h: &mut gst_check::Harness) -> Vec<gst::Buffer> {
    std::iter::from_fn(|| h.try_pull()).collect()
}

fn stat(stats: &gst::Structure, name: &str) -> u64 {
    stats
        .get::<u64>(name)
        .unwrap_or_else(|_| panic!("stats has no u64 {name}: {stats}"))
}

/// An expected RTP packet.
#[derive(Debug, PartialEq, Eq)]
struct Pkt {
    ssrc: u32,
    pt: u8,
    seq: u16,
    ts: u32,
    marker: bool,
    discont: bool,
    payload: &'static [u8],
}

fn check_packets(step: usize, got: &[gst::Buffer], want: &[Pkt]) {
    assert_eq!(got.len(), want.len(), "step {step}: packets {got:?}");
    for (i, (buffer, want)) in got.iter().zip(want).enumerate() {
        let f = rtp_fields(buffer);
        let got = Pkt {
            ssrc: f.ssrc,
            pt: f.pt,
            seq: f.seq,
            ts: f.timestamp,
            marker: f.marker,
            discont: buffer.flags().contains(gst::BufferFlags::DISCONT),
            payload: want.payload,
        };
        assert_eq!(&got, want, "step {step} packet {i}");
        assert_eq!(f.payload, want.payload, "step {step} packet {i} payload");
        assert_eq!(
            buffer.flags().contains(gst::BufferFlags::MARKER),
            want.marker,
            "step {step} packet {i}: MARKER flag exactly with the marker bit"
        );
    }
}

/// Caps of the reference-timestamp metas the step tables put on inputs to follow them to the
/// outputs.
fn reference_caps() -> gst::Caps {
    gst::Caps::new_empty_simple("timestamp/x-toy-input")
}
