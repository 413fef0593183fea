// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! The receiver recovers everything an ideal iterative (peeling) decoder recovers: any
//! media and repair packets lost, in the order the sender sent them. The reference knows
//! each repair packet's protected set from the scheme's geometry (RFC 8627 §1.1: row `i`
//! covers packets `l·i …`, column `j` of block `b` covers `b·l·d + j + r·l`), not from the
//! header, and repeats "a received repair missing exactly one packet of its set rebuilds it"
//! until nothing changes.

use crate::fec::flexfec::WireFormat;
use crate::fec::flexfec_receiver::FlexfecReceiver;
use crate::fec::flexfec_sender::{FlexfecSender, Protection};
use crate::fec::recovery::WindowLimits;
use proptest::prelude::*;

fn media(seq: u16, i: usize) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(i as u32).to_be_bytes());
    p.extend_from_slice(&0x5eed_0002u32.to_be_bytes());
    p.extend((0..20 + i % 7).map(|k| (k * 31 + i) as u8));
    p
}

/// The protected sets (media indexes) of a block's repairs: its `l`-packet rows (when
/// `rows`) then its `l` columns of `d`.
fn block_sets(b: usize, l: usize, d: usize, rows: bool) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let base = b * l * d;
    let row_sets = if rows {
        (0..d)
            .map(|r| (0..l).map(|c| base + r * l + c).collect())
            .collect()
    } else {
        Vec::new()
    };
    let col_sets = (0..l)
        .map(|c| (0..d).map(|r| base + r * l + c).collect())
        .collect();
    (row_sets, col_sets)
}

/// What peeling recovers: `have` (media received) grows while some received set misses one
/// (also the reference of the column-diagonal tests).
pub(crate) fn peel(mut have: Vec<bool>, sets: &[Vec<usize>]) -> Vec<bool> {
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

fn check(format: WireFormat, l: u8, d: u8, rows: bool, blocks: usize, lost: &[bool]) {
    let (lu, du) = (usize::from(l), usize::from(d));
    let n = blocks * lu * du;
    let protection = if rows {
        Protection::RowColumn { l, d }
    } else {
        Protection::Column { l, d }
    };
    let mut sender = FlexfecSender::new(format, protection, 0xfec0_fec1, 110, 3);
    let limits = WindowLimits {
        max_media: 4096,
        max_fec: 2048,
        max_age: u64::MAX / 2,
    };
    let mut receiver = FlexfecReceiver::new(format, limits, 4);
    let packets: Vec<Vec<u8>> = (0..n).map(|i| media(1000 + i as u16, i)).collect();
    // The stream as sent, each repair with its set: what one media packet completes leaves
    // with it, its row's repair first (rows as they complete), then columns in the order
    // the sender paces them (by block, then column).
    let (mut row_sets, mut col_sets) = (Vec::new(), Vec::new());
    for b in 0..blocks {
        let (r, c) = block_sets(b, lu, du, rows);
        row_sets.extend(r);
        col_sets.extend(c);
    }
    let (mut next_row, mut next_col) = (0, 0);
    let mut sent: Vec<(Option<usize>, Vec<u8>, Vec<usize>)> = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        sent.push((Some(i), p.clone(), Vec::new()));
        let mut row_due = rows && (i + 1) % lu == 0;
        for r in sender.push(p) {
            let set = if row_due {
                row_due = false;
                next_row += 1;
                row_sets[next_row - 1].clone()
            } else {
                next_col += 1;
                col_sets[next_col - 1].clone()
            };
            sent.push((None, r, set));
        }
    }
    for r in sender.flush() {
        next_col += 1;
        sent.push((None, r, col_sets[next_col - 1].clone()));
    }
    assert_eq!(
        (next_row, next_col),
        (row_sets.len(), col_sets.len()),
        "one repair per set"
    );
    let mut have = vec![false; n];
    let mut received_sets = Vec::new();
    let mut got = Vec::new();
    for (k, (index, p, set)) in sent.iter().enumerate() {
        if lost.get(k).copied().unwrap_or(false) {
            continue;
        }
        if let Some(i) = index {
            have[*i] = true;
            got.extend(receiver.on_media(p, k as u64));
        } else {
            received_sets.push(set.clone());
            got.extend(receiver.on_fec(p, k as u64).expect("our repairs parse"));
        }
    }
    got.extend(receiver.finish());
    let tail = media(1000 + n as u16, n);
    got.extend(receiver.on_media(&tail, sent.len() as u64));
    let ideal = peel(have.clone(), &received_sets);
    for r in &got {
        let i = usize::from(u16::from_be_bytes([r.packet[2], r.packet[3]]).wrapping_sub(1000));
        assert_eq!(r.packet, packets[i], "rebuilt bytes are the originals");
        have[i] = true;
    }
    let missed: Vec<usize> = (0..n).filter(|&i| ideal[i] && !have[i]).collect();
    assert!(
        missed.is_empty(),
        "peeling recovers {missed:?}, the receiver did not"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn recovers_what_peeling_recovers(
        rfc in any::<bool>(),
        l in 2u8..7,
        d in 2u8..7,
        rows in any::<bool>(),
        blocks in 1usize..5,
        lost in prop::collection::vec(prop::bool::weighted(0.15), 400),
    ) {
        let format = if rfc { WireFormat::Rfc8627 } else { WireFormat::Flexfec03 };
        check(format, l, d, rows, blocks, &lost);
    }
}
