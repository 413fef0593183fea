// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The depayloader base's contracts, through the toy depayloader.

use gst::prelude::*;

use super::*;

/// One input packet: sequence number, RTP clock ticks (8000 Hz) since the first packet
/// (the RTP timestamp is [`DEPAY_TS0`] + ticks, wrapping; the arrival PTS is the ticks'
/// time) and payload (`None`: a packet that is not valid RTP), and the outputs right after
/// it: (bytes, PTS in ms, DISCONT, the packets it was made from). Every packet carries a
/// reference-timestamp meta (untagged, so depayloaders copy it) of its sequence number in ms:
/// an output must carry exactly those of its own packets (the extended-seqnum relation).
struct DepayStep {
    seq: u16,
    ticks: u32,
    payload: Option<&'static [u8]>,
    out: &'static [Out],
}

type Out = (&'static [u8], u64, bool, &'static [u64]);

/// The RTP timestamp wraps at 32 bits between the 5th and the 6th step.
const DEPAY_TS0: u32 = u32::MAX - 300;

use toy_depay::{END, START};
const SE: u8 = START | END;

#[rustfmt::skip]
const DEPAY_STEPS: &[DepayStep] = &[
    // The first output is DISCONT (nothing came before it).
    DepayStep { seq: 10, ticks: 0, payload: Some(&[SE, b'a', b'b']), out: &[(b"ab", 0, true, &[10])] },
    DepayStep { seq: 11, ticks: 80, payload: Some(&[START, b'c']), out: &[] },
    // The unit is timed by its first packet.
    DepayStep { seq: 12, ticks: 160, payload: Some(&[END, b'd']), out: &[(b"cd", 10, false, &[11, 12])] },
    DepayStep { seq: 13, ticks: 240, payload: Some(&[START, b'e']), out: &[] },
    // 14 lost: the unit "e…" is dropped, never output partially.
    DepayStep { seq: 15, ticks: 320, payload: Some(&[END, b'f']), out: &[] },
    // The next output after the loss is DISCONT; the RTP timestamp wrapped.
    DepayStep { seq: 16, ticks: 400, payload: Some(&[SE, b'g']), out: &[(b"g", 50, true, &[16])] },
    // Late (a duplicate of 12): dropped by the base class.
    DepayStep { seq: 12, ticks: 160, payload: Some(&[END, b'd']), out: &[] },
    // Empty payload: the subclass drops it; the next output is DISCONT.
    DepayStep { seq: 17, ticks: 480, payload: Some(&[]), out: &[] },
    DepayStep { seq: 18, ticks: 560, payload: Some(&[SE, b'h']), out: &[(b"h", 70, true, &[18])] },
    // Not RTP version 2: dropped before the sequence numbers are looked at.
    DepayStep { seq: 19, ticks: 640, payload: None, out: &[] },
    DepayStep { seq: 19, ticks: 640, payload: Some(&[SE, b'i']), out: &[(b"i", 80, false, &[19])] },
];

#[test]
fn toy_depayloader_follows_its_step_table() {
    init();
    let mut h = gst_check::Harness::new("rtp2toydepay");
    let depay = h.element().unwrap();
    h.set_src_caps_str(TOY_RTP_CAPS);
    for (i, step) in DEPAY_STEPS.iter().enumerate() {
        let ts = DEPAY_TS0.wrapping_add(step.ticks);
        let payload = step.payload.unwrap_or(b"x");
        let mut bytes = rtp_packet(96, step.seq, ts, 0x11, false, payload);
        if step.payload.is_none() {
            bytes[0] = 0x40; // version 1
        }
        let mut b = gst::Buffer::from_mut_slice(bytes);
        {
            let b = b.get_mut().unwrap();
            b.set_pts(gst::ClockTime::from_nseconds(
                u64::from(step.ticks) * 125_000,
            ));
            let seq = gst::ClockTime::from_mseconds(step.seq.into());
            gst::ReferenceTimestampMeta::add(b, &reference_caps(), seq, None);
        }
        h.push(b).unwrap();
        let got: Vec<(Vec<u8>, u64, bool, Vec<u64>)> = pull_all(&mut h)
            .iter()
            .map(|b| {
                (
                    b.map_readable().unwrap().to_vec(),
                    b.pts().unwrap().mseconds(),
                    b.flags().contains(gst::BufferFlags::DISCONT),
                    b.iter_meta::<gst::ReferenceTimestampMeta>()
                        .map(|m| m.timestamp().mseconds())
                        .collect(),
                )
            })
            .collect();
        let want: Vec<(Vec<u8>, u64, bool, Vec<u64>)> = step
            .out
            .iter()
            .map(|(d, p, f, m)| (d.to_vec(), *p, *f, m.to_vec()))
            .collect();
        assert_eq!(got, want, "step {i}");
    }
    let stats = depay.property::<gst::Structure>("stats");
    assert_eq!(stat(&stats, "packets-received"), 10, "{stats}");
    assert_eq!(stat(&stats, "packets-lost"), 1, "{stats}");
    assert_eq!(stat(&stats, "dropped-late"), 1, "{stats}");
    assert_eq!(stat(&stats, "dropped-payload"), 1, "{stats}");
    assert_eq!(stat(&stats, "dropped-invalid"), 1, "{stats}");
    assert_eq!(stat(&stats, "buffers-pushed"), 5, "{stats}");
}
