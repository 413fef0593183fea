// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The payloader base's contracts, through the toy payloader.

use gst::prelude::*;

use super::*;

struct PayStep {
    input: &'static [u8],
    pts_ms: u64,
    discont: bool,
    out: &'static [Pkt],
}

const PAY_SSRC: u32 = 0x1234_5678;

const fn pay_pkt(
    seq: u16,
    pts_ms: u32,
    marker: bool,
    discont: bool,
    payload: &'static [u8],
) -> Pkt {
    // timestamp-offset 1000, clock-rate 8000: 8 ticks per ms.
    Pkt {
        ssrc: PAY_SSRC,
        pt: 96,
        seq,
        ts: 1000 + 8 * pts_ms,
        marker,
        discont,
        payload,
    }
}

/// mtu 28 leaves 16 payload bytes per packet (12-byte header, no CSRC, no extension). Every
/// input carries a reference-timestamp meta (a meta without tags, so payloaders copy it) of
/// its own PTS: each packet must carry the one of the input it was made from, also when
/// the toy held that input back or drained it at EOS (the input-id relation).
const PAY_STEPS: &[PayStep] = &[
    PayStep {
        input: b"abc",
        pts_ms: 0,
        discont: false,
        out: &[pay_pkt(65535, 0, true, false, b"abc")],
    },
    // Cut at the payload size, the marker on the last packet, seqnums wrap at 16 bits.
    PayStep {
        input: b"0123456789ABCDEFGHIJ",
        pts_ms: 10,
        discont: false,
        out: &[
            pay_pkt(0, 10, false, false, b"0123456789ABCDEF"),
            pay_pkt(1, 10, true, false, b"GHIJ"),
        ],
    },
    // Held by the subclass: nothing yet.
    PayStep {
        input: b"Hxy",
        pts_ms: 20,
        discont: false,
        out: &[],
    },
    // Bad input: counted, no packet, no seqnum used.
    PayStep {
        input: b"",
        pts_ms: 25,
        discont: false,
        out: &[],
    },
    // The held input leaves first, timed by its own PTS; DISCONT only on the first packet
    // of the DISCONT input.
    PayStep {
        input: b"z",
        pts_ms: 30,
        discont: true,
        out: &[
            pay_pkt(2, 20, true, false, b"Hxy"),
            pay_pkt(3, 30, true, true, b"z"),
        ],
    },
    PayStep {
        input: b"Hq",
        pts_ms: 40,
        discont: false,
        out: &[],
    },
];

/// What EOS drains after [`PAY_STEPS`].
const PAY_EOS: &[Pkt] = &[pay_pkt(4, 40, true, false, b"Hq")];

/// Each packet carries exactly one reference-timestamp meta: its input's PTS, which the toy's
/// RTP timestamps encode (1000 + 8 × ms).
fn check_reference_metas(step: usize, got: &[gst::Buffer], want: &[Pkt]) {
    for (i, (buffer, want)) in got.iter().zip(want).enumerate() {
        let metas: Vec<u64> = buffer
            .iter_meta::<gst::ReferenceTimestampMeta>()
            .map(|m| m.timestamp().mseconds())
            .collect();
        let input_ms = u64::from(want.ts - 1000) / 8;
        assert_eq!(
            metas,
            [input_ms],
            "step {step} packet {i}: metas of its own input"
        );
    }
}

#[test]
fn toy_payloader_follows_its_step_table() {
    init();
    let mut h = gst_check::Harness::new("rtp2toypay");
    let pay = h.element().unwrap();
    pay.set_property("mtu", 28u32);
    pay.set_property("pt", 96u32);
    pay.set_property("ssrc", PAY_SSRC);
    pay.set_property("seqnum-offset", 65535i32);
    pay.set_property("timestamp-offset", 1000u32);
    h.set_src_caps_str("application/x-toy");
    for (i, step) in PAY_STEPS.iter().enumerate() {
        let mut b = gst::Buffer::from_slice(step.input);
        {
            let b = b.get_mut().unwrap();
            b.set_pts(gst::ClockTime::from_mseconds(step.pts_ms));
            if step.discont {
                b.set_flags(gst::BufferFlags::DISCONT);
            }
            let pts = gst::ClockTime::from_mseconds(step.pts_ms);
            gst::ReferenceTimestampMeta::add(b, &reference_caps(), pts, None);
        }
        h.push(b).unwrap();
        let out = pull_all(&mut h);
        check_packets(i, &out, step.out);
        check_reference_metas(i, &out, step.out);
    }
    h.push_event(gst::event::Eos::new());
    let out = pull_all(&mut h);
    check_packets(PAY_STEPS.len(), &out, PAY_EOS);
    check_reference_metas(PAY_STEPS.len(), &out, PAY_EOS);
    let stats = pay.property::<gst::Structure>("stats");
    let sent: usize = PAY_STEPS.iter().map(|s| s.out.len()).sum::<usize>() + PAY_EOS.len();
    assert_eq!(stat(&stats, "packets-sent"), sent as u64, "{stats}");
    let bytes: usize = PAY_STEPS
        .iter()
        .flat_map(|s| s.out)
        .chain(PAY_EOS)
        .map(|p| p.payload.len())
        .sum();
    assert_eq!(stat(&stats, "bytes-sent"), bytes as u64, "{stats}");
    assert_eq!(stat(&stats, "dropped-invalid"), 1, "{stats}");
}
