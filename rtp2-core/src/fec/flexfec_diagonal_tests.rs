// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Column and diagonal protection: the geometry (each packet in one group of each slope,
//! two groups of different slopes meeting at most once, bursts spread over distinct
//! groups), the masks' fit, and the receiver against an ideal peeling decoder whose sets come
//! from the definition (`(column + s·row) mod l`), not from the headers or from this module.

use super::*;
use crate::fec::flexfec::WireFormat;
use crate::fec::flexfec_receiver::FlexfecReceiver;
use crate::fec::flexfec_receiver::peeling_tests::peel;
use crate::fec::recovery::WindowLimits;
use proptest::prelude::*;

/// The sets of a block at `base` in the order the sender queues them: for each `j`, group
/// `j` of slope 0 (column `j`), 1, …, `k − 1`; from the definition.
fn block_sets(base: usize, l: usize, d: usize, k: usize) -> Vec<Vec<usize>> {
    let cells: Vec<(usize, usize)> = (0..d).flat_map(|r| (0..l).map(move |c| (r, c))).collect();
    let mut sets = Vec::new();
    for j in 0..l {
        for s in 0..k {
            sets.push(
                (cells.iter())
                    .filter(|(r, c)| (c + s * r) % l == j)
                    .map(|(r, c)| base + r * l + c)
                    .collect(),
            );
        }
    }
    sets
}

/// A valid `l` near `want` for `k` slopes (coprime with 2 and 3 as needed).
fn valid_l(want: usize, k: usize) -> usize {
    (want..)
        .find(|&l| (k < 3 || l % 2 == 1) && (k < 4 || l % 3 != 0))
        .unwrap()
}

#[test]
fn groups_follow_the_definition_and_meet_once() {
    for k in 2..=4 {
        for d in 2..=10 {
            for l in (d..=d + 8).map(|l| valid_l(l, k)) {
                let sets = block_sets(0, l, d, k);
                for j in 0..l {
                    for s in 0..k {
                        let ours: Vec<usize> = line_members(j, s, l, d).collect();
                        assert_eq!(ours, sets[j * k + s], "group {j} slope {s} of {l}x{d}");
                        assert!(ours.iter().all(|&i| line_of(i, l, s) == j));
                        let span = ours.last().unwrap() - ours.first().unwrap() + 1;
                        assert!(span <= mask_bits(l, d, k), "{l}x{d}: {j}/{s} spans {span}");
                    }
                }
                for a in 0..sets.len() {
                    for b in 0..sets.len() {
                        if a % k != b % k {
                            let meet = sets[a].iter().filter(|i| sets[b].contains(i)).count();
                            assert!(meet <= 1, "{l}x{d}, {k} slopes: sets {a}, {b} meet {meet}×");
                        }
                    }
                }
                // Any l − k + 1 consecutive packets: distinct groups of every slope.
                for start in 0..=l * d - (l - k + 1) {
                    for s in 0..k {
                        let mut g: Vec<usize> = (start..start + l - k + 1)
                            .map(|i| line_of(i, l, s))
                            .collect();
                        g.sort_unstable();
                        g.dedup();
                        assert_eq!(g.len(), l - k + 1, "{l}x{d} slope {s}, burst at {start}");
                    }
                }
            }
        }
    }
    // The widest mask of 10×10, 2 slopes: diagonal 0, 92 bits.
    assert_eq!(mask_bits(10, 10, 2), 92);
    let widest = (block_sets(0, 10, 10, 2).iter())
        .map(|s| s[s.len() - 1] - s[0] + 1)
        .max();
    assert_eq!(widest, Some(92));
}

#[test]
fn fit_keeps_the_overhead_and_the_masks_within_the_format() {
    assert_eq!(fit(10, 10, 2, 109), (10, 10, 2));
    assert_eq!(fit(11, 9, 3, 109), (11, 9, 3));
    assert_eq!(fit(13, 8, 4, 109), (13, 8, 4));
    assert_eq!(fit(12, 9, 3, 109), (11, 9, 3), "l odd for 3 slopes");
    assert_eq!(
        fit(12, 8, 4, 109),
        (11, 8, 4),
        "l coprime with 2 and 3 for 4 slopes"
    );
    assert_eq!(fit(3, 6, 2, 109), (6, 6, 2), "l raised to d");
    assert_eq!(fit(3, 6, 3, 109), (7, 6, 3), "l raised to d, odd");
    assert_eq!(fit(255, 255, 2, 109), (11, 10, 2));
    assert_eq!(fit(1, 0, 0, 109), (2, 2, 2));
    assert_eq!(fit(1, 0, 9, 109), (5, 2, 4));
    for (format, bits) in [(WireFormat::Flexfec03, 109), (WireFormat::Rfc8627, 110)] {
        for k in 2..=4 {
            let p = Protection::ColumnDiagonal { l: 255, d: 255, k };
            let s = FlexfecSender::new(format, p, 1, 100, 0);
            let Protection::ColumnDiagonal { l, d, k } = s.protection() else {
                panic!("{:?}", s.protection());
            };
            let (l, d, k) = (usize::from(l), usize::from(d), usize::from(k));
            assert!(
                mask_bits(l, d, k) <= bits && meet_once(l, d, k),
                "{l} {d} {k}"
            );
        }
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

/// Sends `n` media packets (whole blocks, then maybe a block cut short by EOS), drops what
/// `lost` says (indexes of the stream as sent, media and repairs), and returns (media
/// received or rebuilt by the receiver, what ideal peeling over the received repairs' sets
/// gives). Asserts every rebuilt packet is byte-exact.
fn run(
    format: WireFormat,
    (l, d, k): (u8, u8, u8),
    n: usize,
    start: u16,
    lost: &[bool],
) -> (Vec<bool>, Vec<bool>) {
    let (lu, du, ku) = (usize::from(l), usize::from(d), usize::from(k));
    let protection = Protection::ColumnDiagonal { l, d, k };
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
    // The sets, the last block's cut to the packets sent; empty ones get no repair.
    let sets: Vec<Vec<usize>> = (0..n.div_ceil(lu * du))
        .flat_map(|b| block_sets(b * lu * du, lu, du, ku))
        .map(|set| set.into_iter().filter(|&i| i < n).collect::<Vec<usize>>())
        .filter(|set| !set.is_empty())
        .collect();
    let mut sent: Vec<(Option<usize>, Vec<u8>)> = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        sent.push((Some(i), p.clone()));
        sent.extend(sender.push(p).into_iter().map(|r| (None, r)));
    }
    sent.extend(sender.flush().into_iter().map(|r| (None, r)));
    let repairs = sent.iter().filter(|(i, _)| i.is_none()).count();
    assert_eq!(repairs, sets.len(), "one repair per group");
    let mut have = vec![false; n];
    let mut received_sets = Vec::new();
    let mut got = Vec::new();
    let mut repair_no = 0;
    for (at, (index, p)) in sent.iter().enumerate() {
        let dropped = lost.get(at).copied().unwrap_or(false);
        match index {
            Some(i) if !dropped => {
                have[*i] = true;
                got.extend(receiver.on_media(p, at as u64));
            }
            Some(_) => {}
            None => {
                if !dropped {
                    received_sets.push(sets[repair_no].clone());
                    got.extend(receiver.on_fec(p, at as u64).expect("our repairs parse"));
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

/// A valid (l, d, k) from any three small numbers.
fn geometry(d: u8, extra: u8, k: u8) -> (u8, u8, u8) {
    let l = valid_l(usize::from(d + extra), usize::from(k));
    (l as u8, d, k)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Any loss of media and repair packets (a last block cut short included): the receiver
    /// recovers all that peeling does.
    #[test]
    fn recovers_what_peeling_recovers(
        rfc in any::<bool>(),
        (d, extra, k) in (2u8..7, 0u8..6, 2u8..5),
        blocks in 0usize..4,
        tail in 0usize..40,
        start in any::<u16>(),
        lost in prop::collection::vec(prop::bool::weighted(0.15), 600),
    ) {
        let (l, d, k) = geometry(d, extra, k);
        let n = (blocks * usize::from(l) * usize::from(d) + tail).max(1);
        let (have, ideal) = run(format(rfc), (l, d, k), n, start, &lost);
        let missed: Vec<usize> = (0..have.len()).filter(|&i| ideal[i] && !have[i]).collect();
        prop_assert!(missed.is_empty(), "peeling recovers {:?}, the receiver did not", missed);
    }

    /// The guarantee: every repair received, any `k` media packets of a block lost (3 when
    /// `k` = 2), or one burst of up to `l` (no set of fewer than `k + 1` packets stops the
    /// recovery).
    #[test]
    fn recovers_k_losses_or_a_burst_per_block(
        rfc in any::<bool>(),
        (d, extra, k) in (2u8..8, 0u8..6, 2u8..5),
        blocks in 1usize..4,
        start in any::<u16>(),
        picks in prop::collection::vec(
            (any::<bool>(), any::<prop::sample::Index>(), prop::collection::vec(any::<prop::sample::Index>(), 4)),
            3,
        ),
    ) {
        let (l, d, k) = geometry(d, extra, k);
        let (lu, du) = (usize::from(l), usize::from(d));
        let block = lu * du;
        let losses = if k == 2 { 3 } else { usize::from(k) };
        let mut lost_media = vec![false; blocks * block];
        for (b, (burst, at, some)) in picks.iter().take(blocks).enumerate() {
            if *burst {
                let first = at.index(block);
                for i in first..(first + 1 + some[0].index(lu)).min(block) {
                    lost_media[b * block + i] = true;
                }
            } else {
                for i in &some[..losses] {
                    lost_media[b * block + i.index(block)] = true;
                }
            }
        }
        // Map media losses onto the stream as sent (repairs between media packets) by
        // running the sender once to learn the layout.
        let p = Protection::ColumnDiagonal { l, d, k };
        let mut sender = FlexfecSender::new(format(rfc), p, 1, 111, 9);
        let mut lost = Vec::new();
        for (i, &gone) in lost_media.iter().enumerate() {
            lost.push(gone);
            let n = sender.push(&media(start.wrapping_add(i as u16), i)).len();
            lost.extend(std::iter::repeat_n(false, n));
        }
        let (have, _) = run(format(rfc), (l, d, k), blocks * block, start, &lost);
        let missing: Vec<usize> = (0..have.len()).filter(|&i| !have[i]).collect();
        prop_assert!(missing.is_empty(), "{}x{}, {} slopes: not recovered {:?}", l, d, k, missing);
    }
}
