// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Which media packets of a group each FEC packet protects (the level-0 masks of RFC 5109
//! §7.4), for a group of at most 48 media packets and `fec` FEC packets.

use super::ulpfec::MAX_PROTECTED;

/// How a group's media packets are spread over its FEC packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MaskKind {
    /// FEC packet j protects the j-th contiguous slice of the group (what GStreamer's
    /// `rtpulpfecenc` does): one loss per slice is recoverable; a burst inside a slice is not.
    Contiguous,
    /// FEC packet j protects media packets j, j + fec, j + 2·fec, …: any burst of up to
    /// `fec` consecutive losses is recoverable (each FEC packet misses at most one).
    #[default]
    Interleaved,
}

/// The offsets (from the group's first packet) each of `fec` FEC packets protects, for
/// `media` packets (both clamped to 1..=48; `fec` to at most `media`).
pub fn group_masks(media: usize, fec: usize, kind: MaskKind) -> Vec<Vec<u16>> {
    let media = media.clamp(1, usize::from(MAX_PROTECTED));
    let fec = fec.clamp(1, media);
    (0..fec)
        .map(|j| {
            (0..media)
                .filter(|&i| match kind {
                    MaskKind::Contiguous => i * fec / media == j,
                    MaskKind::Interleaved => i % fec == j,
                })
                .map(|i| i as u16)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_packet_is_protected_exactly_once() {
        for kind in [MaskKind::Contiguous, MaskKind::Interleaved] {
            for media in 1..=48 {
                for fec in 1..=media {
                    let masks = group_masks(media, fec, kind);
                    assert_eq!(masks.len(), fec);
                    let mut all: Vec<u16> = masks.concat();
                    all.sort_unstable();
                    assert_eq!(all, (0..media as u16).collect::<Vec<_>>());
                    assert!(masks.iter().all(|m| !m.is_empty()));
                }
            }
        }
    }

    #[test]
    fn shapes() {
        assert_eq!(
            group_masks(4, 2, MaskKind::Contiguous),
            [vec![0, 1], vec![2, 3]]
        );
        assert_eq!(
            group_masks(4, 2, MaskKind::Interleaved),
            [vec![0, 2], vec![1, 3]]
        );
    }
}
