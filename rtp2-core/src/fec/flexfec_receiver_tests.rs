// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

use super::*;
use crate::fec::flexfec_sender::{FlexfecSender, Protection};

fn media(ssrc: u32, seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 90).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..40 + seq % 7).map(|i| (i as u8) ^ (seq as u8)));
    p
}

#[test]
fn learns_each_ssrc_from_the_repair_header_both_formats() {
    for format in [WireFormat::Flexfec03, WireFormat::Rfc8627] {
        let mut rx = FlexfecReceiver::new(format, WindowLimits::default(), 4);
        for ssrc in [0x1111_1111u32, 0x2222_2222] {
            let mut tx = FlexfecSender::new(format, Protection::Row { l: 4 }, 9, 100, 0);
            let mut got = Vec::new();
            for seq in 500..508u16 {
                let p = media(ssrc, seq);
                let repairs = tx.push(&p);
                if seq != 502 {
                    got.extend(rx.on_media(&p, 0));
                }
                for r in repairs {
                    got.extend(rx.on_fec(&r, 0).unwrap());
                }
            }
            assert_eq!(got.len(), 1, "{format:?}");
            assert_eq!(got[0].packet, media(ssrc, 502));
        }
        assert_eq!(rx.stats().recovered, 2);
        assert_eq!(rx.stats().unrecovered, 0);
        assert_eq!(rx.held().0, 2);
        // Limited to one SSRC: the other's repair packets are refused and counted.
        rx.set_protected_ssrc(Some(0x1111_1111));
        let mut tx = FlexfecSender::new(format, Protection::Row { l: 2 }, 9, 100, 0);
        tx.push(&media(0x3333_3333, 1));
        let r = tx.push(&media(0x3333_3333, 2)).remove(0);
        assert!(rx.on_fec(&r, 0).is_err());
        assert_eq!(rx.stats().fec_dropped, 1);
    }
}

#[test]
fn a_packet_rebuilt_ahead_waits_for_its_gap_and_reordering_is_not_loss() {
    let format = WireFormat::Flexfec03;
    let mut rx = FlexfecReceiver::new(format, WindowLimits::default(), 4);
    let mut tx = FlexfecSender::new(format, Protection::Row { l: 3 }, 9, 100, 0);
    let p: Vec<Vec<u8>> = (10..14u16).map(|s| media(7, s)).collect();
    let mut repairs = Vec::new();
    for q in &p[..3] {
        repairs.extend(tx.push(q));
    }
    assert!(rx.on_media(&p[0], 0).is_empty());
    assert!(rx.on_media(&p[1], 0).is_empty());
    // 12 not seen yet: rebuilt, but not missed, so held.
    assert!(rx.on_fec(&repairs[0], 0).unwrap().is_empty());
    // 13 arrives: 12 is missed now, and it is there.
    let out = rx.on_media(&p[3], 0);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].packet, p[2]);
    assert_eq!(rx.stats().recovered, 1);
    // A gap later filled by the late packet is not counted as unrecovered.
    rx.on_media(&media(7, 16), 0);
    assert_eq!(rx.stats().unrecovered, 2);
    rx.on_media(&media(7, 14), 0);
    rx.on_media(&media(7, 15), 0);
    assert_eq!(rx.stats().unrecovered, 0);
}

#[test]
fn memory_stays_bounded_with_only_repair_packets_and_many_ssrcs() {
    let limits = WindowLimits {
        max_media: 64,
        max_fec: 32,
        max_age: 1000,
    };
    let mut rx = FlexfecReceiver::new(WireFormat::Rfc8627, limits, 8);
    let mut tx = FlexfecSender::new(WireFormat::Rfc8627, Protection::Row { l: 2 }, 9, 100, 0);
    for i in 0..20_000u32 {
        // Repair packets of media never received, then media of 10,000 SSRCs.
        let ssrc = i % 10_000;
        tx.push(&media(ssrc, i as u16));
        for r in tx.push(&media(ssrc, i as u16 + 1)) {
            let _ = rx.on_fec(&r, u64::from(i));
        }
        rx.on_media(&media(ssrc, i as u16), u64::from(i));
        let (streams, m, f) = rx.held();
        assert!(streams <= 8 && m <= 8 * 64 && f <= 8 * 32);
    }
    assert!(rx.stats().streams_evicted > 9_000);
}

#[test]
fn the_last_packets_rebuilt_leave_at_the_end() {
    let format = WireFormat::Rfc8627;
    let mut rx = FlexfecReceiver::new(format, WindowLimits::default(), 4);
    let mut tx = FlexfecSender::new(format, Protection::Column { l: 2, d: 2 }, 9, 100, 0);
    let p: Vec<Vec<u8>> = (0..4u16).map(|s| media(5, s)).collect();
    let mut repairs = Vec::new();
    for q in &p {
        repairs.extend(tx.push(q));
    }
    repairs.extend(tx.flush());
    assert_eq!(repairs.len(), 2);
    for q in &p[..3] {
        assert!(rx.on_media(q, 0).is_empty());
    }
    for r in &repairs {
        assert!(
            rx.on_fec(r, 0).unwrap().is_empty(),
            "3 is not known missing yet"
        );
    }
    let end = rx.finish();
    assert_eq!(end.len(), 1);
    assert_eq!(end[0].packet, p[3]);
    assert_eq!(rx.stats().recovered, 1);
    assert!(rx.finish().is_empty());
}
