// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RED (RFC 2198) and ULPFEC (RFC 5109) parsing and recovery: each input packet (the
//! framing of `common.rs`) is parsed as a RED payload (what parses is written again and must
//! parse the same) and fed to an `UlpfecReceiver`: marker flag = an FEC payload, else a whole
//! media packet; the loss flag skips a sequence number. No panic; the store stays within its
//! limits; every output packet is a whole RTP header or more. Then the masks: the first
//! bytes pick a mask kind, group size, FEC count, important packets (UEP) and losses; a
//! group of media packets (payloads cut from the input) is encoded with those masks and the
//! survivors fed to a recovery window: every mask protects packets of the group only, every
//! packet is protected, and every packet the window rebuilds is the original, byte-exact.

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use rtp2_core::fec::masks::{MaskKind, unequal_masks};
use rtp2_core::fec::receiver::UlpfecReceiver;
use rtp2_core::fec::recovery::{RecoveryWindow, WindowLimits};
use rtp2_core::fec::red;
use rtp2_core::fec::ulpfec::encode;

const KINDS: [MaskKind; 4] = [
    MaskKind::Contiguous,
    MaskKind::Interleaved,
    MaskKind::Random,
    MaskKind::Bursty,
];

/// 48 bits from 6 bytes.
fn bits48(b: &[u8]) -> u64 {
    b.iter().fold(0, |acc, &x| acc << 8 | u64::from(x))
}

fn masks_round_trip(data: &[u8]) {
    let Some((head, rest)) = data.split_first_chunk::<22>() else {
        return;
    };
    let kind = KINDS[usize::from(head[0]) % KINDS.len()];
    let n = usize::from(head[1]) % 48 + 1;
    let k = usize::from(head[2]) % n + 1;
    let important_bits = if head[3] & 1 != 0 {
        bits48(&head[4..10])
    } else {
        0
    };
    let lost_media = bits48(&head[10..16]);
    let lost_fec = bits48(&head[16..22]);
    let base = u16::from_be_bytes([head[0], head[2]]);
    let important: Vec<u16> = (0..n as u16)
        .filter(|i| important_bits >> i & 1 != 0)
        .collect();
    let masks = unequal_masks(n, k, &important, kind);
    assert_eq!(masks.len(), k);
    let mut covered = vec![false; n];
    for m in &masks {
        assert!(!m.is_empty());
        for &o in m {
            covered[usize::from(o)] = true;
        }
    }
    assert!(
        covered.iter().all(|c| *c),
        "{kind:?} {n}/{k}: every packet protected"
    );
    let packets: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let mut p = vec![0x80, 96];
            p.extend_from_slice(&base.wrapping_add(i as u16).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, i as u8, 0, 0, 0, 7]);
            let start = (i * 7) % (rest.len() + 1);
            let len = (i * 13) % 80;
            p.extend(rest.iter().skip(start).take(len));
            p
        })
        .collect();
    let reference = (1 << 20) + u64::from(base);
    let mut window = RecoveryWindow::new(7, WindowLimits::default());
    for (i, p) in packets.iter().enumerate() {
        if lost_media >> i & 1 == 0 {
            window.insert_media(reference + i as u64, p, 0);
        }
    }
    for (j, m) in masks.iter().enumerate() {
        let prot: Vec<(u16, &[u8])> = m
            .iter()
            .map(|&o| (o, &packets[usize::from(o)][..]))
            .collect();
        let fec = encode(base, &prot).expect("a group's packets encode");
        if lost_fec >> j & 1 == 0 {
            let _ = window.insert_fec(reference, &fec, 0);
        }
    }
    for (i, p) in packets.iter().enumerate() {
        if let Some(got) = window.media_packet(reference + i as u64) {
            assert_eq!(got, &p[..], "packet {i} rebuilt byte-exact");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = WindowLimits {
        max_media: 32,
        max_fec: 16,
        max_age: 90_000,
    };
    let mut receiver = UlpfecReceiver::new(0x1234, limits);
    let mut seq: u64 = (1 << 32) - 3;
    for p in common::packets(data) {
        if let Ok(parsed) = red::parse(p.payload) {
            let again = red::write(
                &parsed.redundant,
                parsed.primary_payload_type,
                parsed.primary,
            )
            .expect("a parsed payload writes");
            assert_eq!(red::parse(&again).expect("written parses"), parsed);
        }
        seq += 1 + u64::from(p.discont);
        let actions = if p.marker {
            receiver.on_fec(seq, p.timestamp, p.payload)
        } else {
            receiver.on_media(seq, p.timestamp, p.payload)
        };
        assert!(actions.output.iter().all(|r| r.packet.len() >= 12));
        let (media, fec, held) = receiver.held();
        assert!(media <= 32 && fec <= 16 && held <= 96);
    }
    let _ = receiver.finish();
    masks_round_trip(data);
});
