// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Column and diagonal protection: a block of `d` rows of `l` packets (packet `i` of the
//! block at row `r = i / l`, column `c = i % l`), one repair packet per column (RFC 8627
//! §1.1.2) and, for each of `k − 1` slopes `s` = 1, 2, 3, one per line `(c + s·r) mod l`
//! (a diagonal), all sent as flexible masks (§4.2.2.1; the fixed L/D header has no
//! diagonal). `k` = 2: columns and diagonals; 3 and 4 add steeper diagonals.
//!
//! Why: 2-D row and column (§1.1.3) protects each packet twice, so it is the best of the
//! RFC's schemes under independent loss, but a burst breaks its rows; the 1-D column
//! survives bursts up to `l` but protects each packet once. Here each packet is protected
//! `k` times and no group is broken by a burst: `l` consecutive packets lie in `l`
//! different columns, and `l − s` consecutive ones in different lines of slope `s`. With
//! `l ≥ d` and `l` coprime with every slope difference (2 and 3 when `k` is 3 or 4), two
//! groups of different slopes share at most one packet (as a row and a column do), so the
//! iterative recovery undoes any `k` losses of a block (a set it cannot undo has at least
//! `k + 1` packets; 4 when `k` = 2, as in 2-D). Overhead: `k·l` repairs per `l·d` packets,
//! `k`/`d`.
//!
//! The masks must fit the wire format: every group within 109 bits in flexfec-03, 110 in
//! RFC 8627 (so `d` ≤ 10).

use super::running::RunningParity;
use super::{FlexfecSender, Protection};
use crate::fec::flexfec::{StreamMask, mask_of_offsets};

/// Most slopes (column included).
pub const MAX_SLOPES: u8 = 4;

/// The group of slope `s` that packet `i` of a block of rows of `l` is in.
pub(super) fn line_of(i: usize, l: usize, s: usize) -> usize {
    (i % l + s * (i / l)) % l
}

/// The block indexes of group `j` of slope `s` (0: column `j`) of a block of `d` rows of
/// `l`, ascending: one per row, row `r` at column `(j − s·r) mod l`.
pub fn line_members(j: usize, s: usize, l: usize, d: usize) -> impl Iterator<Item = usize> {
    (0..d).map(move |r| r * l + (j + l - (s * r) % l) % l)
}

/// Mask bits the widest group of an `l`×`d` block with `k` slopes needs (its last member's
/// offset from its first, row 0's, plus one).
pub(super) fn mask_bits(l: usize, d: usize, k: usize) -> usize {
    (0..k)
        .flat_map(|s| (0..l).map(move |j| (j, s)))
        .filter_map(|(j, s)| line_members(j, s, l, d).last().map(|last| last - j + 1))
        .max()
        .unwrap_or(1)
}

/// Whether two groups of different slopes (< `k`) meet at most once in an `l`×`d` block:
/// `l ≥ d` and `l` coprime with each slope difference.
fn meet_once(l: usize, d: usize, k: usize) -> bool {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    l >= d && (1..k).all(|diff| gcd(l, diff) == 1)
}

/// `l`, `d`, `k` clamped to what the scheme needs and the format's masks carry: `k` in
/// 2..=[`MAX_SLOPES`], `d` ≥ 2, groups meeting at most once, the widest mask within
/// `max_bits`. `d` (with `k`, the overhead) is kept when it can be; `l` is the largest
/// that fits at most the one asked (else the smallest above it).
pub(super) fn fit(l: u8, d: u8, k: u8, max_bits: usize) -> (u8, u8, u8) {
    let k = k.clamp(2, MAX_SLOPES);
    let ku = usize::from(k);
    // A column spans (d − 1)·l + 1 ≤ max_bits with l ≥ d: d ≤ 11, l ≤ max_bits.
    let l_asked = usize::from(l).min(max_bits);
    let fits = |l: usize, d: usize| meet_once(l, d, ku) && mask_bits(l, d, ku) <= max_bits;
    for d in (2..=usize::from(d.max(2)).min(11)).rev() {
        let want = l_asked.max(d);
        let found = (d..=want).rev().find(|&l| fits(l, d));
        if let Some(l) = found.or_else(|| (want + 1..=max_bits).find(|&l| fits(l, d))) {
            return (l as u8, d as u8, k);
        }
    }
    (5, 2, k) // not reached: 5×2 fits every k
}

impl FlexfecSender {
    /// Adds a media packet to the parity of its group of each slope; at the block's end
    /// queues the `k·l` repairs (group `j` of each slope, for each `j`). Repairs leave paced:
    /// the first right after the block, then one per `d / k` media packets of the next
    /// block, so that all have left by the next block's end.
    pub(super) fn push_column_diagonal(&mut self, packet: &[u8], out: &mut Vec<Vec<u8>>) {
        let Protection::ColumnDiagonal { l, d, k } = self.protection else {
            return;
        };
        let (lu, du, ku) = (usize::from(l), usize::from(d), usize::from(k));
        if self.diagonals.len() < lu * ku {
            self.diagonals.resize_with(lu * ku, RunningParity::default);
        }
        let i = self.in_block;
        for s in 0..ku {
            self.diagonals[s * lu + line_of(i, lu, s)].add(packet);
        }
        self.in_block += 1;
        self.since_paced += 1;
        if self.since_paced >= (du / ku).max(1) {
            out.extend(self.paced.pop_front());
            self.since_paced = 0;
        }
        if self.in_block >= lu * du {
            out.extend(self.paced.drain(..));
            self.queue_column_diagonal();
            out.extend(self.paced.pop_front());
            self.since_paced = 0;
            self.finish_block();
        }
    }

    /// Queues the repairs of the block so far (whole, or cut short by EOS or a gap: then
    /// its masks name the packets it has).
    fn queue_column_diagonal(&mut self) {
        let Protection::ColumnDiagonal { l, d, k } = self.protection else {
            return;
        };
        let (lu, du, ku) = (usize::from(l), usize::from(d), usize::from(k));
        let n = self.in_block;
        let (f, pt, ssrc, media) = (
            self.format,
            self.payload_type,
            self.fec_ssrc,
            self.media_ssrc,
        );
        for j in 0..lu {
            for s in 0..ku {
                // The group's first member is its row-0 packet, block index `j`.
                let offsets = line_members(j, s, lu, du)
                    .filter(|&m| m < n)
                    .map(|m| (m - j) as u16);
                let mask = StreamMask::Flexible(mask_of_offsets(offsets));
                let repair = self.diagonals[s * lu + j].take(f, ssrc, pt, media, mask);
                self.paced.extend(repair);
            }
        }
    }

    /// EOS or a gap: the repairs still paced, then those of the block cut short.
    pub(super) fn flush_column_diagonal(&mut self) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = self.paced.drain(..).collect();
        if self.in_block > 0 {
            self.queue_column_diagonal();
            out.extend(self.paced.drain(..));
        }
        out
    }
}

#[cfg(test)]
#[path = "flexfec_diagonal_tests.rs"]
mod tests;
