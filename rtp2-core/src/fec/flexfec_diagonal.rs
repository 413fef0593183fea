// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Column and diagonal protection: a block of `d` rows of `l` packets (packet `i` of the
//! block at row `i / l`, column `i % l`), one repair packet per column (RFC 8627 §1.1.2)
//! and one per diagonal `(row + column) mod l`, both sent as flexible masks (§4.2.2.1; the
//! fixed L/D header has no diagonal).
//!
//! Why: 2-D row and column (§1.1.3) protects each packet twice, so it is the best of the
//! RFC's schemes under independent loss, but a burst breaks its rows; the 1-D column
//! survives bursts up to `l` but protects each packet once. Here each packet is protected
//! twice and both of its groups survive bursts: `l` consecutive packets lie in `l`
//! different columns and (up to `l − 1`) in different diagonals. With `l ≥ d` a column and
//! a diagonal share at most one packet, as a row and a column do, so no two or three
//! losses in a block stop the iterative recovery (the smallest set it cannot undo has
//! four packets, as in 2-D). Overhead: `2 l` repairs per `l·d` packets, 2/`d`.
//!
//! The masks must fit the wire format: the widest (a diagonal) spans `l·d − d + 2` bits,
//! at most 109 in flexfec-03 and 110 in RFC 8627, so `d` ≤ 10 (20 % overhead or more).

use super::running::RunningParity;
use super::{FlexfecSender, Protection};
use crate::fec::flexfec::{StreamMask, mask_of_offsets};

/// The diagonal of packet `i` of a block of rows of `l`.
pub(super) fn diagonal_of(i: usize, l: usize) -> usize {
    (i / l + i % l) % l
}

/// The block indexes of diagonal `k` of a block of `d` rows of `l`, ascending (one per
/// row: row `r`, column `(k − r) mod l`).
pub fn diagonal_members(k: usize, l: usize, d: usize) -> impl Iterator<Item = usize> {
    (0..d).map(move |r| r * l + (k + l - r % l) % l)
}

/// Mask bits the widest group of an `l`×`d` block needs (`l` ≥ `d` ≥ 2): diagonal 0, from
/// its row-0 packet (index 0) to its last row's (index `(d − 1)·l + l − d + 1`), one bit
/// more than a column's `(d − 1)·l + 1`.
pub(super) fn mask_bits(l: usize, d: usize) -> usize {
    l * d - d + 2
}

/// `l` and `d` clamped to what the scheme needs and the format's masks carry: `d` ≥ 2,
/// `l` ≥ `d` (a column and a diagonal meet once), the widest mask within `max_bits`; `d`
/// (the overhead) is kept when it can be, `l` lowered first.
pub(super) fn fit(l: u8, d: u8, max_bits: usize) -> (u8, u8) {
    let mut d = usize::from(d.max(2));
    while mask_bits(d, d) > max_bits && d > 2 {
        d -= 1;
    }
    let mut l = usize::from(l).max(d);
    while mask_bits(l, d) > max_bits && l > d {
        l -= 1;
    }
    (l as u8, d as u8)
}

impl FlexfecSender {
    /// Adds a media packet to its column's and diagonal's parity; at the block's end queues
    /// the `2 l` repairs (column `j`, then diagonal `j`, for each `j`). Repairs leave paced:
    /// the first right after the block, then one per `d / 2` media packets of the next
    /// block, so that all have left when the next block ends.
    pub(super) fn push_column_diagonal(&mut self, packet: &[u8], out: &mut Vec<Vec<u8>>) {
        let Protection::ColumnDiagonal { l, d } = self.protection else {
            return;
        };
        let (lu, du) = (usize::from(l), usize::from(d));
        if self.columns.len() < lu {
            self.columns.resize_with(lu, RunningParity::default);
        }
        if self.diagonals.len() < lu {
            self.diagonals.resize_with(lu, RunningParity::default);
        }
        let i = self.in_block;
        self.columns[i % lu].add(packet);
        self.diagonals[diagonal_of(i, lu)].add(packet);
        self.in_block += 1;
        self.since_paced += 1;
        if self.since_paced >= (du / 2).max(1) {
            out.extend(self.paced.pop_front());
            self.since_paced = 0;
        }
        if self.in_block >= lu * du {
            out.extend(self.paced.drain(..));
            let (f, pt, ssrc, media) = (
                self.format,
                self.payload_type,
                self.fec_ssrc,
                self.media_ssrc,
            );
            for j in 0..lu {
                let column = (0..du).map(|r| (r * lu) as u16);
                let column = StreamMask::Flexible(mask_of_offsets(column));
                let repair = self.columns[j].take(f, ssrc, pt, media, column);
                self.paced.extend(repair);
                // The diagonal's first member is its row-0 packet, block index `j`.
                let diagonal = diagonal_members(j, lu, du).map(|m| (m - j) as u16);
                let diagonal = StreamMask::Flexible(mask_of_offsets(diagonal));
                let repair = self.diagonals[j].take(f, ssrc, pt, media, diagonal);
                self.paced.extend(repair);
            }
            out.extend(self.paced.pop_front());
            self.since_paced = 0;
            self.finish_block();
        }
    }
}

#[cfg(test)]
#[path = "flexfec_diagonal_tests.rs"]
mod tests;
