// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Cost per protected packet (a measurement, not a test): the same 30,000 media packets
//! (frames of 6, 1000-byte payloads) through GStreamer's C `rtpulpfecenc` and through
//! `rtpulpfecenc2` at 50 % overhead, then each encoder's output through its decoder
//! (`rtpstorage ! rtpulpfecdec` for C, which stores every packet; `rtpulpfecdec2`), with one
//! media packet in 30 lost (C is told with a `GstRTPPacketLost` event, as a jitterbuffer
//! would). Wall time per media packet, best of 3, and the same minus the harness alone
//! (`identity` on the same input). Run:
//! `cargo run --release --example fec_cost`.

use std::time::Instant;

use gst::prelude::*;

const PACKETS: usize = 30_000;
const CAPS: &str =
    "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96,ssrc=(uint)1";

fn media() -> Vec<gst::Buffer> {
    (0..PACKETS)
        .map(|i| {
            let mut p = vec![0x80, 96 | if i % 6 == 5 { 0x80 } else { 0 }];
            p.extend_from_slice(&(i as u16).to_be_bytes());
            p.extend_from_slice(&((i / 6) as u32 * 3000).to_be_bytes());
            p.extend_from_slice(&1u32.to_be_bytes());
            p.extend((0..1000).map(|k| (k ^ i) as u8));
            let mut b = gst::Buffer::from_mut_slice(p);
            b.get_mut()
                .unwrap()
                .set_pts(gst::ClockTime::from_mseconds(i as u64));
            b
        })
        .collect()
}

/// Pushes `input` through `launch`, returns (ns per media packet, output).
fn time(
    launch: &str,
    input: &[gst::Buffer],
    c_storage: bool,
    lost: &[u16],
) -> (f64, Vec<gst::Buffer>) {
    let mut best = f64::MAX;
    let mut output = Vec::new();
    for _ in 0..3 {
        let mut h = gst_check::Harness::new_parse(launch);
        if c_storage {
            let storage: glib::Object = h
                .find_element("rtpstorage")
                .unwrap()
                .property("internal-storage");
            h.find_element("rtpulpfecdec")
                .unwrap()
                .set_property("storage", &storage);
        }
        h.set_src_caps_str(CAPS);
        // Each run gets its own writable copies, as from a socket, and the loss decisions,
        // both made before the clock starts: an element may then rewrite a header in place.
        let owned: Vec<(u16, bool, gst::Buffer)> = input
            .iter()
            .map(|b| {
                let seq = gst_rtp::RTPBuffer::from_buffer_readable(b)
                    .map(|r| r.seq())
                    .unwrap_or(0);
                (seq, lost.contains(&seq), b.copy_deep().unwrap())
            })
            .collect();
        let start = Instant::now();
        let out = push_all(&mut h, owned, c_storage);
        best = best.min(start.elapsed().as_nanos() as f64 / PACKETS as f64);
        output = out;
    }
    (best, output)
}

/// The timed part: every packet pushed (a lost one replaced by a loss event for C), the
/// output pulled. Not inlined, so that `valgrind --tool=callgrind
/// --dump-before=fec_cost::push_all --dump-after=fec_cost::push_all` counts each run alone.
#[inline(never)]
fn push_all(
    h: &mut gst_check::Harness,
    input: Vec<(u16, bool, gst::Buffer)>,
    c_storage: bool,
) -> Vec<gst::Buffer> {
    let mut out = Vec::with_capacity(input.len());
    for (seq, lost, b) in input {
        if lost {
            if c_storage {
                h.push_event(gst::event::CustomDownstream::new(
                    gst::Structure::builder("GstRTPPacketLost")
                        .field("seqnum", u32::from(seq))
                        .field("timestamp", 0u64)
                        .field("duration", 1_000_000u64)
                        .build(),
                ));
            }
            continue;
        }
        h.push(b).unwrap();
        while let Some(o) = h.try_pull() {
            out.push(o);
        }
    }
    out
}

fn main() {
    gst::init().unwrap();
    gstrtp2::plugin_register_static().unwrap();
    let media = media();
    let (c_enc, c_out) = time("rtpulpfecenc pt=122 percentage=50", &media, false, &[]);
    let (o_enc, o_out) = time("rtpulpfecenc2 pt=122 percentage=50", &media, false, &[]);
    let lost_of = |out: &[gst::Buffer]| -> Vec<u16> {
        out.iter()
            .filter_map(|b| {
                gst_rtp::RTPBuffer::from_buffer_readable(b)
                    .ok()
                    .map(|r| (r.payload_type(), r.seq()))
            })
            .filter(|(pt, _)| *pt == 96)
            .map(|(_, s)| s)
            .step_by(30)
            .collect()
    };
    let (c_dec, _) = time(
        "rtpstorage size-time=1000000000 ! rtpulpfecdec pt=122",
        &c_out,
        true,
        &lost_of(&c_out),
    );
    let (o_dec, _) = time("rtpulpfecdec2 pt=122", &o_out, false, &lost_of(&o_out));
    // The harness alone (push, pull, buffer copies): in every figure above.
    let (harness, _) = time("identity", &media, false, &[]);
    println!(
        "| ns per media packet | C | rtp2 | rtp2 / C | C − harness | rtp2 − harness | ratio |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (what, c, o) in [
        ("encoder (50 %)", c_enc, o_enc),
        ("decoder (1 loss in 30)", c_dec, o_dec),
    ] {
        println!(
            "| {what} | {c:.0} | {o:.0} | {:.2} | {:.0} | {:.0} | {:.2} |",
            o / c,
            c - harness,
            o - harness,
            (o - harness) / (c - harness)
        );
    }
    println!("| harness alone (`identity`) | {harness:.0} | | | | | |");
}
