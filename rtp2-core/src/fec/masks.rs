// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Which media packets of a group each FEC packet protects (the level-0 masks of RFC 5109
//! §7.4), for a group of at most 48 media packets and `fec` FEC packets: GStreamer's
//! contiguous slices, an interleaved layout, and libwebrtc's random and bursty masks (with
//! its unequal protection of important packets).

use super::ulpfec::{MAX_PROTECTED, mask_offsets};

#[path = "mask_tables.rs"]
mod tables;

/// How a group's media packets are spread over its FEC packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MaskKind {
    /// FEC packet j protects the j-th contiguous slice of the group (what GStreamer's
    /// `rtpulpfecenc` does): one loss per slice is recoverable; a burst inside a slice is not.
    Contiguous,
    /// FEC packet j protects media packets j, j + fec, j + 2·fec, …: any burst of up to
    /// `fec` consecutive losses is recoverable (each FEC packet misses at most one).
    Interleaved,
    /// libwebrtc's masks for random loss (`kFecMaskRandom`): up to 12 media packets its
    /// table (each media packet protected by one or more FEC packets, chosen offline for the
    /// lowest residual loss under independent loss); above 12 the interleaved layout, as
    /// libwebrtc builds them.
    Random,
    /// libwebrtc's masks for bursty loss (`kFecMaskBursty`): up to 12 media packets its
    /// table (any burst of up to `fec` media losses is recoverable, with overlapping
    /// protection for isolated losses); above 12 the interleaved layout, as libwebrtc. The
    /// default: the lowest residual loss over random and bursty loss together
    /// (docs/fec.md).
    #[default]
    Bursty,
}

/// Media counts up to which libwebrtc reads its tables (above: interleaved masks).
const TABLE_MAX: usize = 12;

/// The offsets (from the group's first packet) each of `fec` FEC packets protects, for
/// `media` packets (both clamped to 1..=48; `fec` to at most `media`).
pub fn group_masks(media: usize, fec: usize, kind: MaskKind) -> Vec<Vec<u16>> {
    let (media, fec) = clamp(media, fec);
    let rows = match kind {
        MaskKind::Contiguous => contiguous(media, fec),
        MaskKind::Interleaved => interleaved(media, fec),
        MaskKind::Random | MaskKind::Bursty => lookup(table_for(kind, media), media, fec),
    };
    rows.into_iter()
        .map(|m| mask_offsets(m).collect())
        .collect()
}

/// [`group_masks`] with unequal protection (libwebrtc's `UnequalProtectionMask` in the
/// overlap mode it uses) of the media packets at offsets `important` (below `media`):
/// the first t = min(important count, ⌊fec / 2⌋) FEC packets protect only the important
/// packets (the table's masks for that many packets and t FEC packets, applied to the
/// important packets in order), the other fec − t protect the whole group (the table's
/// masks for `media` and fec − t). libwebrtc's important packets are a frame's first ones;
/// here they may be anywhere in the group (with the first ones it is libwebrtc's mask).
/// Only for [`MaskKind::Random`] and [`MaskKind::Bursty`]; other kinds, or no important
/// packet, give [`group_masks`].
pub fn unequal_masks(media: usize, fec: usize, important: &[u16], kind: MaskKind) -> Vec<Vec<u16>> {
    let (media, fec) = clamp(media, fec);
    let mut important: Vec<u16> = important
        .iter()
        .copied()
        .filter(|&i| usize::from(i) < media)
        .collect();
    important.sort_unstable();
    important.dedup();
    let t = important.len().min(fec / 2);
    if t == 0 || !matches!(kind, MaskKind::Random | MaskKind::Bursty) {
        return group_masks(media, fec, kind);
    }
    let table = table_for(kind, media);
    let mut out: Vec<Vec<u16>> = lookup(table, important.len(), t)
        .into_iter()
        .map(|m| mask_offsets(m).map(|c| important[usize::from(c)]).collect())
        .collect();
    out.extend(
        lookup(table, media, fec - t)
            .into_iter()
            .map(|m| mask_offsets(m).collect()),
    );
    out
}

fn clamp(media: usize, fec: usize) -> (usize, usize) {
    let media = media.clamp(1, usize::from(MAX_PROTECTED));
    (media, fec.clamp(1, media))
}

/// The 48-bit mask (bit 47 = offset 0, as [`super::ulpfec::mask_of`]) of the offsets below
/// `media` that `keep` accepts.
fn mask_where(media: usize, keep: impl Fn(usize) -> bool) -> u64 {
    (0..media)
        .filter(|&i| keep(i))
        .fold(0, |m, i| m | (1 << (47 - i)))
}

fn contiguous(media: usize, fec: usize) -> Vec<u64> {
    (0..fec)
        .map(|j| mask_where(media, |i| i * fec / media == j))
        .collect()
}

fn interleaved(media: usize, fec: usize) -> Vec<u64> {
    (0..fec)
        .map(|j| mask_where(media, |i| i % fec == j))
        .collect()
}

#[derive(Clone, Copy)]
enum Table {
    Random,
    Bursty,
}

/// libwebrtc picks its table once per frame from the frame's media count: the bursty one
/// only when asked for and the count is within it.
fn table_for(kind: MaskKind, media: usize) -> Table {
    if kind == MaskKind::Bursty && media <= TABLE_MAX {
        Table::Bursty
    } else {
        Table::Random
    }
}

/// libwebrtc's mask lookup: the table's rows for up to 12 media packets; above, FEC
/// packet j protects the media packets i with i mod `fec` = j (1 ≤ fec ≤ media ≤ 48).
fn lookup(table: Table, media: usize, fec: usize) -> Vec<u64> {
    if media > TABLE_MAX {
        return interleaved(media, fec);
    }
    let rows: &[u16] = match table {
        Table::Random => &tables::RANDOM,
        Table::Bursty => &tables::BURSTY,
    };
    // Entries for fewer media packets (m of them for m media packets, k rows each), then
    // the entries for fewer FEC packets.
    let start = (1..media).map(|m| m * (m + 1) / 2).sum::<usize>() + fec * (fec - 1) / 2;
    rows[start..start + fec]
        .iter()
        .map(|&r| u64::from(r) << 32)
        .collect()
}

#[cfg(test)]
#[path = "masks_tests.rs"]
pub(crate) mod tests;
