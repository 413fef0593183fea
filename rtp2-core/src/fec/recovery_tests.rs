// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

use super::*;
use crate::fec::masks::tests::{KINDS, peel};
use crate::fec::masks::{MaskKind, group_masks, unequal_masks};
use crate::fec::ulpfec::encode;
use proptest::prelude::*;

const SSRC: u32 = 0x0102_0304;

fn media(seq: u16, len: usize) -> Vec<u8> {
    let mut p = vec![0x80, 96 | if seq.is_multiple_of(5) { 0x80 } else { 0 }];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 3000).to_be_bytes());
    p.extend_from_slice(&SSRC.to_be_bytes());
    p.extend((0..len).map(|i| (i as u8).wrapping_mul(seq as u8 | 1)));
    p
}

/// FEC payloads for the group `base..base + n` with `fec` FEC packets of `kind`.
fn protect(base: u16, packets: &[Vec<u8>], fec: usize, kind: MaskKind) -> Vec<Vec<u8>> {
    group_masks(packets.len(), fec, kind)
        .iter()
        .map(|offs| {
            let prot: Vec<(u16, &[u8])> = offs
                .iter()
                .map(|&o| (o, &packets[usize::from(o)][..]))
                .collect();
            encode(base, &prot).unwrap()
        })
        .collect()
}

#[test]
fn a_recovered_packet_unlocks_another_fec_packet() {
    // FEC A protects {0, 1}; FEC B protects {1, 2}. 1 and 2 lost: B alone misses two,
    // A recovers 1, then B recovers 2.
    let p: Vec<Vec<u8>> = (100..103).map(|s| media(s, 30 + usize::from(s))).collect();
    let a = encode(100, &[(0, &p[0]), (1, &p[1])]).unwrap();
    let b = encode(100, &[(1, &p[1]), (2, &p[2])]).unwrap();
    let mut w = RecoveryWindow::new(SSRC, WindowLimits::default());
    assert!(w.insert_fec(100, &b, 0).unwrap().is_empty());
    assert!(w.insert_media(100, &p[0], 0).is_empty());
    let rec = w.insert_fec(100, &a, 0).unwrap();
    assert_eq!(
        rec,
        vec![
            Recovered {
                ext_seqnum: 101,
                packet: p[1].clone(),
                rebuilt: true,
            },
            Recovered {
                ext_seqnum: 102,
                packet: p[2].clone(),
                rebuilt: true,
            },
        ]
    );
    // Nothing left to do: both FEC packets are used up.
    assert_eq!(w.len(), (3, 0));
}

#[test]
fn window_stays_within_its_limits() {
    let limits = WindowLimits {
        max_media: 10,
        max_fec: 4,
        max_age: 1000,
    };
    let mut w = RecoveryWindow::new(SSRC, limits);
    for s in 0..10_000u16 {
        let pkt = media(s, 10);
        w.insert_media(u64::from(s), &pkt, u64::from(s));
        // FEC for two packets never sent: kept until the limits push it out.
        let fec = encode(s.wrapping_add(1000), &[(0, &pkt[..]), (1, &pkt[..])]).unwrap();
        w.insert_fec(u64::from(s) + 1000, &fec, u64::from(s))
            .unwrap();
        let (m, f) = w.len();
        assert!(m <= 10 && f <= 4, "{m} {f}");
    }
    assert!(w.fec_expired > 0);
}

#[test]
fn old_time_is_evicted() {
    let limits = WindowLimits {
        max_media: 100,
        max_fec: 100,
        max_age: 5,
    };
    let mut w = RecoveryWindow::new(SSRC, limits);
    w.insert_media(1, &media(1, 4), 0);
    w.insert_media(2, &media(2, 4), 10);
    assert!(!w.has_media(1) && w.has_media(2));
}

/// Feeds a group's received media and FEC packets to a fresh window (FEC first or last),
/// returns what it rebuilt.
fn run_group(
    reference: u64,
    packets: &[Vec<u8>],
    lost: &[usize],
    fecs: &[&Vec<u8>],
    fec_first: bool,
) -> Vec<Recovered> {
    let mut w = RecoveryWindow::new(SSRC, WindowLimits::default());
    let mut got = Vec::new();
    let feed_fec = |w: &mut RecoveryWindow, got: &mut Vec<Recovered>| {
        for f in fecs {
            got.extend(w.insert_fec(reference, f, 0).unwrap());
        }
    };
    if fec_first {
        feed_fec(&mut w, &mut got);
    }
    for (i, p) in packets.iter().enumerate() {
        if !lost.contains(&i) {
            got.extend(w.insert_media(reference + i as u64, p, 0));
        }
    }
    if !fec_first {
        feed_fec(&mut w, &mut got);
    }
    got
}

fn any_kind() -> impl Strategy<Value = MaskKind> {
    prop::sample::select(KINDS.to_vec())
}

proptest! {
    /// Encode a group with any mask kind, drop any burst within the kind's guarantee (up to
    /// the FEC count for interleaved and bursty masks, one packet for the others), deliver
    /// the rest in any order: every packet comes back byte-exact.
    #[test]
    fn burst_within_guarantee_is_recovered(
        n in 1usize..=48, fec in 1usize..=48, start in any::<prop::sample::Index>(),
        base in any::<u16>(), fec_first in any::<bool>(), kind in any_kind(),
    ) {
        let fec = fec.min(n);
        let packets: Vec<Vec<u8>> =
            (0..n).map(|i| media(base.wrapping_add(i as u16), 20 + i * 7 % 50)).collect();
        let fecs = protect(base, &packets, fec, kind);
        let guarantee = match kind {
            MaskKind::Interleaved | MaskKind::Bursty => fec,
            _ => 1,
        };
        let burst_start = start.index(n);
        let lost: Vec<usize> = (burst_start..(burst_start + guarantee).min(n)).collect();
        let reference = (1 << 20) + u64::from(base);
        let got = run_group(reference, &packets, &lost, &fecs.iter().collect::<Vec<_>>(), fec_first);
        // Every lost packet comes back exactly; a packet whose FEC packets came before it
        // may be rebuilt before it arrives, also exactly.
        for r in &got {
            let i = (r.ext_seqnum - reference) as usize;
            prop_assert_eq!(&r.packet, &packets[i]);
        }
        for &i in &lost {
            prop_assert!(got.iter().any(|r| r.ext_seqnum == reference + i as u64), "{} lost", i);
        }
    }

    /// Any mask kind, with or without unequal protection, any media and FEC packets lost:
    /// the window rebuilds exactly the media packets that iterative recovery over the
    /// received FEC packets' masks allows (computed from the masks alone), byte-exact.
    #[test]
    fn any_loss_recovers_what_the_masks_allow(
        n in 1usize..=48, fec in 1usize..=48, lost_media in any::<u64>(), lost_fec in any::<u64>(),
        important in any::<u64>(), uep in any::<bool>(), base in any::<u16>(),
        kind in any_kind(),
    ) {
        let fec = fec.min(n);
        let packets: Vec<Vec<u8>> =
            (0..n).map(|i| media(base.wrapping_add(i as u16), 10 + i * 13 % 70)).collect();
        let important: Vec<u16> = (0..n as u16).filter(|i| uep && important & 1 << i != 0).collect();
        let masks = unequal_masks(n, fec, &important, kind);
        let fecs: Vec<Vec<u8>> = masks
            .iter()
            .map(|offs| {
                let prot: Vec<(u16, &[u8])> =
                    offs.iter().map(|&o| (o, &packets[usize::from(o)][..])).collect();
                encode(base, &prot).unwrap()
            })
            .collect();
        let lost: Vec<usize> = (0..n).filter(|i| lost_media & 1 << i != 0).collect();
        let received: Vec<usize> = (0..fec).filter(|j| lost_fec & 1 << j == 0).collect();
        let received_masks: Vec<Vec<u16>> = received.iter().map(|&j| masks[j].clone()).collect();
        let lost_offsets: Vec<u16> = lost.iter().map(|&i| i as u16).collect();
        let left = peel(&received_masks, &lost_offsets);
        let reference = (1 << 20) + u64::from(base);
        let fec_refs: Vec<&Vec<u8>> = received.iter().map(|&j| &fecs[j]).collect();
        let got = run_group(reference, &packets, &lost, &fec_refs, false);
        for r in &got {
            let i = (r.ext_seqnum - reference) as usize;
            prop_assert_eq!(&r.packet, &packets[i]);
        }
        let mut rebuilt: Vec<u16> = got.iter().map(|r| (r.ext_seqnum - reference) as u16).collect();
        rebuilt.sort_unstable();
        let expected: Vec<u16> = lost_offsets.iter().copied().filter(|o| !left.contains(o)).collect();
        prop_assert_eq!(rebuilt, expected);
    }

    #[test]
    fn junk_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100), seq in any::<u64>()) {
        let mut w = RecoveryWindow::new(SSRC, WindowLimits::default());
        let _ = w.insert_fec(seq, &bytes, 0);
        let _ = w.insert_media(seq, &bytes, 0);
    }
}
