// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Column and diagonal protection: the geometry (each packet in one column and one
//! diagonal, a column and a diagonal meeting at most once, bursts spread over distinct
//! groups), the masks' fit, and the receiver against an ideal peeling decoder whose sets come
//! from the geometry (`(row + column) mod l`), not from the headers or from this module.

use super::*;
use crate::fec::flexfec::WireFormat;
use crate::fec::flexfec_receiver::FlexfecReceiver;
use crate::fec::recovery::WindowLimits;
use proptest::prelude::*;

/// The sets of a block at `base`: column `c` then diagonal `c`, for each `c` (the order the
/// sender queues them), from the definition.
fn block_sets(base: usize, l: usize, d: usize) -> Vec<Vec<usize>> {
    let cells: Vec<(usize, usize)> = (0..d).flat_map(|r| (0..l).map(move |c| (r, c))).collect();
    let mut sets = Vec::new();
    for k in 0..l {
        sets.push((0..d).map(|r| base + r * l + k).collect());
        sets.push(
            (cells.iter())
                .filter(|(r, c)| (r + c) % l == k)
                .map(|(r, c)| base + r * l + c)
                .collect(),
        );
    }
    sets
}

#[test]
fn diagonals_follow_the_definition_and_meet_columns_once() {
    for d in 2..=10 {
        for l in d..=d + 8 {
            let sets = block_sets(0, l, d);
            for k in 0..l {
                let ours: Vec<usize> = diagonal_members(k, l, d).collect();
                assert_eq!(ours, sets[2 * k + 1], "diagonal {k} of {l}x{d}");
                for &i in &ours {
                    assert_eq!(diagonal_of(i, l), k);
                }
                let span = ours.last().unwrap() - ours.first().unwrap() + 1;
                assert!(
                    span <= mask_bits(l, d),
                    "{l}x{d}: diagonal {k} spans {span}"
                );
                for c in 0..l {
                    let meet = sets[2 * c].iter().filter(|i| ours.contains(i)).count();
                    assert!(
                        meet <= 1,
                        "{l}x{d}: column {c} and diagonal {k} meet {meet}×"
                    );
                }
            }
            assert_eq!(
                (0..l).map(|k| block_sets(0, l, d)[2 * k + 1].len()).max(),
                Some(d)
            );
            // Any l − 1 consecutive packets: distinct columns and distinct diagonals.
            for start in 0..=l * d - (l - 1) {
                let burst = start..start + l - 1;
                let mut diagonals: Vec<usize> = burst.clone().map(|i| diagonal_of(i, l)).collect();
                diagonals.sort_unstable();
                diagonals.dedup();
                assert_eq!(diagonals.len(), l - 1, "{l}x{d} burst at {start}");
            }
        }
    }
    // The widest mask is diagonal 0's, l·d − d + 2 bits.
    assert_eq!(mask_bits(10, 10), 92);
    let widest = block_sets(0, 10, 10)
        .iter()
        .map(|s| s[s.len() - 1] - s[0] + 1)
        .max();
    assert_eq!(widest, Some(92));
}

#[test]
fn fit_keeps_the_overhead_and_the_masks_within_the_format() {
    assert_eq!(fit(10, 10, 109), (10, 10));
    assert_eq!(fit(12, 6, 109), (12, 6));
    assert_eq!(fit(27, 4, 109), (27, 4), "27·4 − 4 + 2 = 106 bits");
    assert_eq!(fit(28, 4, 109), (27, 4));
    assert_eq!(fit(28, 4, 110), (28, 4), "RFC 8627: 110 bits");
    assert_eq!(fit(3, 6, 109), (6, 6), "l raised to d");
    assert_eq!(fit(20, 20, 109), (11, 10), "d = 11 would need 112 bits");
    assert_eq!(fit(255, 255, 109), (11, 10));
    assert_eq!(fit(1, 0, 109), (2, 2));
    for (format, bits) in [(WireFormat::Flexfec03, 109), (WireFormat::Rfc8627, 110)] {
        let p = Protection::ColumnDiagonal { l: 255, d: 255 };
        let s = FlexfecSender::new(format, p, 1, 100, 0);
        let Protection::ColumnDiagonal { l, d } = s.protection() else {
            panic!("{:?}", s.protection());
        };
        assert!(mask_bits(usize::from(l), usize::from(d)) <= bits);
    }
}

fn media(seq: u16, i: usize) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(i as u32 * 90).to_be_bytes());
    p.extend_from_slice(&0x5eed_0003u32.to_be_bytes());
    p.extend((0..17 + i % 9).map(|k| (k * 13 + i * 7) as u8));
    p
}

/// What peeling recovers: `have` grows while some received set misses exactly one packet.
fn peel(mut have: Vec<bool>, sets: &[Vec<usize>]) -> Vec<bool> {
    loop {
        let mut changed = false;
        for set in sets {
            let missing: Vec<usize> = set.iter().copied().filter(|&i| !have[i]).collect();
            if let [one] = missing[..] {
                have[one] = true;
                changed = true;
            }
        }
        if !changed {
            return have;
        }
    }
}

/// Sends `blocks` blocks, drops what `lost` says (indexes of the stream as sent, media and
/// repairs), and returns (media received or rebuilt by the receiver, what ideal peeling
/// over the received repairs' sets gives). Asserts every rebuilt packet is byte-exact.
fn run(
    format: WireFormat,
    l: u8,
    d: u8,
    blocks: usize,
    start: u16,
    lost: &[bool],
) -> (Vec<bool>, Vec<bool>) {
    let (lu, du) = (usize::from(l), usize::from(d));
    let n = blocks * lu * du;
    let protection = Protection::ColumnDiagonal { l, d };
    let mut sender = FlexfecSender::new(format, protection, 0xfec0_d1a9, 111, 9);
    assert_eq!(sender.protection(), protection);
    let limits = WindowLimits {
        max_media: 4096,
        max_fec: 2048,
        max_age: u64::MAX / 2,
    };
    let mut receiver = FlexfecReceiver::new(format, limits, 4);
    let packets: Vec<Vec<u8>> = (0..n)
        .map(|i| media(start.wrapping_add(i as u16), i))
        .collect();
    let sets: Vec<Vec<usize>> = (0..blocks)
        .flat_map(|b| block_sets(b * lu * du, lu, du))
        .collect();
    let mut sent: Vec<(Option<usize>, Vec<u8>)> = Vec::new();
    let mut repairs = 0;
    let mut set_of = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        sent.push((Some(i), p.clone()));
        for r in sender.push(p) {
            set_of.push(sent.len());
            sent.push((None, r));
            repairs += 1;
        }
    }
    for r in sender.flush() {
        set_of.push(sent.len());
        sent.push((None, r));
        repairs += 1;
    }
    assert_eq!(
        repairs,
        sets.len(),
        "one repair per column and per diagonal"
    );
    let mut have = vec![false; n];
    let mut received_sets = Vec::new();
    let mut got = Vec::new();
    let mut repair_no = 0;
    for (k, (index, p)) in sent.iter().enumerate() {
        let dropped = lost.get(k).copied().unwrap_or(false);
        match index {
            Some(i) if !dropped => {
                have[*i] = true;
                got.extend(receiver.on_media(p, k as u64));
            }
            Some(_) => {}
            None => {
                if !dropped {
                    received_sets.push(sets[repair_no].clone());
                    got.extend(receiver.on_fec(p, k as u64).expect("our repairs parse"));
                }
                repair_no += 1;
            }
        }
    }
    got.extend(receiver.finish());
    got.extend(receiver.on_media(&media(start.wrapping_add(n as u16), n), sent.len() as u64));
    let ideal = peel(have.clone(), &received_sets);
    for r in &got {
        let seq = u16::from_be_bytes([r.packet[2], r.packet[3]]);
        let i = usize::from(seq.wrapping_sub(start));
        assert_eq!(r.packet, packets[i], "rebuilt bytes are the originals");
        have[i] = true;
    }
    (have, ideal)
}

fn format(rfc: bool) -> WireFormat {
    if rfc {
        WireFormat::Rfc8627
    } else {
        WireFormat::Flexfec03
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any loss of media and repair packets: the receiver recovers all that peeling does.
    #[test]
    fn recovers_what_peeling_recovers(
        rfc in any::<bool>(),
        d in 2u8..7,
        extra in 0u8..6,
        blocks in 1usize..4,
        start in any::<u16>(),
        lost in prop::collection::vec(prop::bool::weighted(0.15), 400),
    ) {
        let (have, ideal) = run(format(rfc), d + extra, d, blocks, start, &lost);
        let missed: Vec<usize> = (0..have.len()).filter(|&i| ideal[i] && !have[i]).collect();
        prop_assert!(missed.is_empty(), "peeling recovers {:?}, the receiver did not", missed);
    }

    /// The guarantee: every repair received, any three media packets of a block lost, or
    /// one burst of up to `l` (no set of fewer than four packets stops the recovery).
    #[test]
    fn recovers_three_losses_or_a_burst_per_block(
        rfc in any::<bool>(),
        d in 2u8..8,
        extra in 0u8..6,
        blocks in 1usize..4,
        start in any::<u16>(),
        picks in prop::collection::vec((any::<bool>(), any::<prop::sample::Index>(), prop::collection::vec(any::<prop::sample::Index>(), 3)), 3),
    ) {
        let l = d + extra;
        let (lu, du) = (usize::from(l), usize::from(d));
        let block = lu * du;
        let mut lost_media = vec![false; blocks * block];
        for (b, (burst, at, three)) in picks.iter().take(blocks).enumerate() {
            if *burst {
                let first = at.index(block);
                let len = 1 + three[0].index(lu);
                for i in first..(first + len).min(block) {
                    lost_media[b * block + i] = true;
                }
            } else {
                for i in three {
                    lost_media[b * block + i.index(block)] = true;
                }
            }
        }
        // The stream as sent has repairs between media packets: map media losses onto it
        // by running the sender once to learn the layout.
        let mut sender = FlexfecSender::new(format(rfc), Protection::ColumnDiagonal { l, d }, 1, 111, 9);
        let mut lost = Vec::new();
        for (i, &gone) in lost_media.iter().enumerate() {
            lost.push(gone);
            let n = sender.push(&media(start.wrapping_add(i as u16), i)).len();
            lost.extend(std::iter::repeat_n(false, n));
        }
        let (have, _) = run(format(rfc), l, d, blocks, start, &lost);
        let missing: Vec<usize> = (0..have.len()).filter(|&i| !have[i]).collect();
        prop_assert!(missing.is_empty(), "{}x{}: not recovered {:?}", l, d, missing);
    }
}
