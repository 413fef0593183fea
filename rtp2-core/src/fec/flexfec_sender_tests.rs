// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The flexible group rule (libwebrtc's): counts of FEC packets per group of frames.

use super::*;
use crate::fec::flexfec_receiver::FlexfecReceiver;
use crate::fec::masks::MaskKind;
use crate::fec::recovery::WindowLimits;

/// A media packet (RFC 3550 §5.1 layout), `marker` on a frame's last packet.
fn media(seq: u16, marker: bool) -> Vec<u8> {
    let mut p = vec![0x80, 96 | (u8::from(marker) << 7)];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
    p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    p.extend((0..30 + seq % 5).map(|i| (i as u8) ^ (seq as u8)));
    p
}

fn flexible(percentage: u32, max_frames: u8) -> Protection {
    Protection::Flexible {
        kind: MaskKind::Interleaved,
        percentage,
        max_frames,
    }
}

/// Repair packets after each of `frames` frames of `per_frame` packets.
fn repairs_per_frame(protection: Protection, frames: u16, per_frame: u16) -> Vec<usize> {
    let mut tx = FlexfecSender::new(WireFormat::Flexfec03, protection, 9, 100, 0);
    (0..frames)
        .map(|f| {
            (0..per_frame)
                .map(|i| tx.push(&media(f * per_frame + i, i + 1 == per_frame)).len())
                .sum()
        })
        .collect()
}

#[test]
fn one_packet_frames_are_each_protected_in_their_frame_with_max_frames_1() {
    for format in [WireFormat::Flexfec03, WireFormat::Rfc8627] {
        let mut tx = FlexfecSender::new(format, flexible(50, 1), 9, 100, 0);
        let mut rx = FlexfecReceiver::new(format, WindowLimits::default(), 4);
        let mut got = Vec::new();
        for seq in 0..11u16 {
            // Every frame gets its own repair; the even frames' one packet is lost and
            // only that repair (sent right after it) rebuilds it.
            let repairs = tx.push(&media(seq, true));
            assert_eq!(repairs.len(), 1, "{format:?} frame {seq}");
            if seq % 2 == 1 {
                got.extend(rx.on_media(&media(seq, true), 0));
            }
            got.extend(rx.on_fec(&repairs[0], 0).unwrap());
        }
        let rebuilt: Vec<Vec<u8>> = got.into_iter().map(|r| r.packet).collect();
        let lost: Vec<Vec<u8>> = (0..10u16).step_by(2).map(|s| media(s, true)).collect();
        assert_eq!(rebuilt, lost, "{format:?}");
    }
}

#[test]
fn fec_count_is_the_share_rounded_and_at_least_one() {
    // libwebrtc's ForwardErrorCorrection::NumFecPackets at 50 % (Q8 128) and 20 % (51).
    let at = |percentage, n| fec_count(n, rate_q8(percentage));
    assert_eq!([1, 2, 3, 4, 5, 12].map(|n| at(50, n)), [1, 1, 2, 2, 3, 6]);
    assert_eq!([1, 2, 3, 5, 12, 48].map(|n| at(20, n)), [1, 1, 1, 1, 2, 10]);
    assert_eq!(at(0, 12), 0);
    assert_eq!(at(100, 12), 12);
    // One frame of 12 packets at 50 %: six repairs, after its last packet.
    assert_eq!(repairs_per_frame(flexible(50, 1), 3, 12), [6, 6, 6]);
}

#[test]
fn groups_span_frames_until_the_overhead_fits_when_allowed() {
    // 50 % (above 80/256): at least four packets, so one-packet frames go by four, two
    // repairs each group.
    assert_eq!(
        repairs_per_frame(flexible(50, 6), 8, 1),
        [0, 0, 0, 2, 0, 0, 0, 2]
    );
    // 20 % (51/256): one repair for three one-packet frames, the first group whose
    // overhead (85/256) overshoots by less than 50/256.
    assert_eq!(
        repairs_per_frame(flexible(20, 6), 9, 1),
        [0, 0, 1, 0, 0, 1, 0, 0, 1]
    );
    // No more than `max_frames` frames in a group, overhead or not.
    assert_eq!(repairs_per_frame(flexible(20, 2), 4, 1), [0, 1, 0, 1]);
    // Frames of four packets at 20 %: one repair for four packets overshoots by 13/256
    // only, so each frame is protected at once.
    assert_eq!(repairs_per_frame(flexible(20, 6), 3, 4), [1, 1, 1]);
}
