// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

use super::*;

pub(crate) const KINDS: [MaskKind; 4] = [
    MaskKind::Contiguous,
    MaskKind::Interleaved,
    MaskKind::Random,
    MaskKind::Bursty,
];

/// Offsets of the bits set in mask bytes as libwebrtc writes them (MSB of the first byte
/// is the first media packet).
fn offsets(bytes: &[u8]) -> Vec<u16> {
    (0..bytes.len() * 8)
        .filter(|&b| bytes[b / 8] & (0x80 >> (b % 8)) != 0)
        .map(|b| b as u16)
        .collect()
}

/// libwebrtc-style rows (`bytes_per_row` bytes each) as offset lists.
fn rows(bytes: &[u8], bytes_per_row: usize) -> Vec<Vec<u16>> {
    bytes.chunks(bytes_per_row).map(offsets).collect()
}

/// What iterative single-loss recovery can rebuild, from the masks alone: the lost media
/// offsets left unrecovered.
pub(crate) fn peel(masks: &[Vec<u16>], lost: &[u16]) -> Vec<u16> {
    let bits = |o: &[u16]| o.iter().fold(0u64, |b, &o| b | 1 << o);
    let masks: Vec<u64> = masks.iter().map(|m| bits(m)).collect();
    let mut lost = bits(lost);
    while let Some(m) = masks.iter().find(|&&m| (m & lost).count_ones() == 1) {
        lost &= !m;
    }
    (0..48).filter(|o| lost & 1 << o != 0).collect()
}

#[test]
fn every_packet_is_protected() {
    for kind in KINDS {
        for media in 1..=48 {
            for fec in 1..=media {
                let masks = group_masks(media, fec, kind);
                assert_eq!(masks.len(), fec, "{kind:?} {media}/{fec}");
                assert!(
                    masks.iter().all(|m| !m.is_empty()),
                    "{kind:?} {media}/{fec}"
                );
                let mut all: Vec<u16> = masks.concat();
                assert!(all.iter().all(|&o| usize::from(o) < media));
                all.sort_unstable();
                if matches!(kind, MaskKind::Contiguous | MaskKind::Interleaved) {
                    assert_eq!(all, (0..media as u16).collect::<Vec<_>>());
                } else {
                    all.dedup();
                    assert_eq!(
                        all,
                        (0..media as u16).collect::<Vec<_>>(),
                        "{kind:?} {media}/{fec}"
                    );
                }
            }
        }
    }
}

#[test]
fn contiguous_and_interleaved_shapes() {
    assert_eq!(
        group_masks(4, 2, MaskKind::Contiguous),
        [vec![0, 1], vec![2, 3]]
    );
    assert_eq!(
        group_masks(4, 2, MaskKind::Interleaved),
        [vec![0, 2], vec![1, 3]]
    );
}

/// Rows read by hand from libwebrtc's `fec_private_tables_random.cc` (`kMaskRandomM_K`).
#[test]
fn random_table_entries() {
    let r = |m, k| group_masks(m, k, MaskKind::Random);
    assert_eq!(r(1, 1), rows(&[0x80, 0x00], 2));
    assert_eq!(r(4, 3), rows(&[0xc0, 0x00, 0xb0, 0x00, 0x60, 0x00], 2));
    // kMaskRandom5_2, also in libwebrtc's own TestRandomLookup.
    assert_eq!(r(5, 2), rows(&[0xa8, 0x00, 0xd0, 0x00], 2));
    assert_eq!(r(12, 2), rows(&[0xec, 0xc0, 0x93, 0xb0], 2));
    assert_eq!(
        r(10, 5),
        rows(
            &[0xca, 0x00, 0x32, 0x80, 0xa1, 0x40, 0x55, 0x00, 0x08, 0xc0],
            2
        )
    );
    let m12_12 = [
        0x10, 0x60, 0x02, 0x30, 0x40, 0x50, 0x21, 0x80, 0x81, 0x10, 0x14, 0x80, 0x98, 0x00, 0x08,
        0x90, 0x62, 0x00, 0x24, 0x20, 0x8a, 0x00, 0x84, 0x40,
    ];
    assert_eq!(r(12, 12), rows(&m12_12, 2));
}

/// Rows read by hand from libwebrtc's `fec_private_tables_bursty.cc` (`kMaskBurstyM_K`),
/// and the ones its `TestBurstyLookup` checks.
#[test]
fn bursty_table_entries() {
    let b = |m, k| group_masks(m, k, MaskKind::Bursty);
    assert_eq!(b(4, 1), rows(&[0xf0, 0x00], 2));
    assert_eq!(b(2, 2), rows(&[0x80, 0x00, 0xc0, 0x00], 2));
    assert_eq!(b(4, 3), rows(&[0xc0, 0x00, 0x60, 0x00, 0x90, 0x00], 2));
    assert_eq!(
        b(9, 4),
        rows(&[0xc5, 0x00, 0x62, 0x00, 0x39, 0x00, 0x8a, 0x80], 2)
    );
    assert_eq!(b(12, 3), rows(&[0x92, 0x40, 0xc9, 0x20, 0x74, 0x90], 2));
    let m12_12 = b(12, 12);
    assert_eq!(m12_12[0], offsets(&[0x80, 0x00]));
    assert_eq!(m12_12[11], offsets(&[0x00, 0x30]));
    // Different from the random table where libwebrtc's differ.
    assert_ne!(b(4, 3), group_masks(4, 3, MaskKind::Random));
}

/// Above 12 media packets libwebrtc generates its masks; its `TestRandomGenerated`
/// expects these bytes for 15 media and 6 FEC packets. The bursty kind gives the same.
#[test]
fn generated_above_twelve() {
    let expected = rows(
        &[
            0x82, 0x08, 0x41, 0x04, 0x20, 0x82, 0x10, 0x40, 0x08, 0x20, 0x04, 0x10,
        ],
        2,
    );
    assert_eq!(group_masks(15, 6, MaskKind::Random), expected);
    assert_eq!(group_masks(15, 6, MaskKind::Bursty), expected);
    assert_eq!(group_masks(15, 6, MaskKind::Interleaved), expected);
}

/// The guarantee of the bursty and interleaved masks, from the masks alone: any burst of
/// up to `fec` media losses is rebuilt by iterative recovery. The random table has no
/// such guarantee (it is made for independent loss), only that any one loss is rebuilt.
#[test]
fn burst_guarantees() {
    for media in 1..=48usize {
        for fec in 1..=media {
            for kind in [MaskKind::Interleaved, MaskKind::Bursty] {
                let masks = group_masks(media, fec, kind);
                // Bursts of exactly `fec` (a shorter burst lies inside one of them, and
                // fewer losses never rebuild less).
                for start in 0..=media - fec {
                    let lost: Vec<u16> = (start..start + fec).map(|o| o as u16).collect();
                    assert!(
                        peel(&masks, &lost).is_empty(),
                        "{kind:?} {media}/{fec} {lost:?}"
                    );
                }
            }
            for kind in KINDS {
                let masks = group_masks(media, fec, kind);
                for o in 0..media as u16 {
                    assert!(peel(&masks, &[o]).is_empty());
                }
            }
        }
    }
    // A burst of 3 in 4 packets with 3 random-table FEC packets is not rebuilt.
    assert!(!peel(&group_masks(4, 3, MaskKind::Random), &[0, 1, 2]).is_empty());
}

#[test]
fn unequal_protection_by_hand() {
    // 4 media, 2 FEC, packet 0 important: t = min(1, 1) = 1 FEC packet for it alone
    // (kMaskRandom1_1), one for all four (kMaskRandom4_1).
    assert_eq!(
        unequal_masks(4, 2, &[0], MaskKind::Random),
        [vec![0], vec![0, 1, 2, 3]]
    );
    // 12 media, 4 FEC, 3 important first packets: t = 2, kMaskRandom3_2 (c0 00, a0 00) on
    // the important ones, kMaskRandom12_2 (ec c0, 93 b0) on all.
    let mut expected = rows(&[0xc0, 0x00, 0xa0, 0x00], 2);
    expected.extend(rows(&[0xec, 0xc0, 0x93, 0xb0], 2));
    assert_eq!(unequal_masks(12, 4, &[0, 1, 2], MaskKind::Random), expected);
    // The same with the bursty tables (kMaskBursty3_2: c0 00, a0 00; kMaskBursty12_2:
    // aa a0, d5 50).
    let mut expected = rows(&[0xc0, 0x00, 0xa0, 0x00], 2);
    expected.extend(rows(&[0xaa, 0xa0, 0xd5, 0x50], 2));
    assert_eq!(unequal_masks(12, 4, &[2, 0, 1], MaskKind::Bursty), expected);
    // Important packets elsewhere in the group: the important masks name them.
    assert_eq!(
        unequal_masks(12, 4, &[5, 7, 9], MaskKind::Random)[..2],
        [vec![5, 7], vec![5, 9]]
    );
    // One FEC packet, no important packet, or a kind without UEP: equal protection.
    assert_eq!(
        unequal_masks(12, 1, &[0], MaskKind::Random),
        group_masks(12, 1, MaskKind::Random)
    );
    assert_eq!(
        unequal_masks(12, 4, &[], MaskKind::Bursty),
        group_masks(12, 4, MaskKind::Bursty)
    );
    assert_eq!(
        unequal_masks(12, 4, &[0], MaskKind::Contiguous),
        group_masks(12, 4, MaskKind::Contiguous)
    );
}

#[test]
fn unequal_masks_cover_every_packet_and_protect_important_ones_more() {
    for kind in [MaskKind::Random, MaskKind::Bursty] {
        for media in 1..=48usize {
            for fec in 1..=media {
                let important: Vec<u16> = (0..media as u16).filter(|o| o % 5 == 1).collect();
                let masks = unequal_masks(media, fec, &important, kind);
                assert_eq!(masks.len(), fec);
                let mut all = masks.concat();
                all.sort_unstable();
                all.dedup();
                assert_eq!(
                    all,
                    (0..media as u16).collect::<Vec<_>>(),
                    "{kind:?} {media}/{fec}"
                );
                let times = |o: u16| masks.iter().filter(|m| m.contains(&o)).count();
                if fec >= 2 && !important.is_empty() {
                    for &i in &important {
                        assert!(times(i) >= 2, "{kind:?} {media}/{fec} {i}");
                    }
                }
            }
        }
    }
}
