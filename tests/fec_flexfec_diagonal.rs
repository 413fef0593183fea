// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtpflexfecenc2 protection=column-diagonal` → chosen loss → `rtpflexfecdec2`, both wire
//! formats, one and two diagonal slopes: a burst as long as a row, `k + 1` losses in one
//! column and a lost repair packet come back byte-exact; the flexfec-03 masks, decoded by
//! hand from the byte layout libwebrtc reads (FlexFEC header: 12 bytes, SSRC, SN base, then
//! chunks of 15, 31 and 63 mask bits each behind a K bit that is set on the last chunk),
//! name exactly the columns and the diagonals `(column + s·row) mod L` of each block.

mod common;
mod fec_support;
mod flexfec_support;

use std::collections::{BTreeMap, BTreeSet};

use fec_support::*;
use flexfec_support::*;

/// (L, D, diagonal slopes): 50 % with one slope, 50 % with two.
const CONFIGS: [(usize, usize, usize); 2] = [(8, 4, 1), (9, 6, 2)];

/// Three blocks of media: frames of D packets.
fn blocks_of_media(l: usize, d: usize) -> Vec<Vec<u8>> {
    media(3 * l, d, 65500) // across the wrap
}

fn encoder(format: &str, (l, d, k): (usize, usize, usize)) -> String {
    format!(
        "rtpflexfecenc2 pt={FLEX_PT} wire-format={format} protection=column-diagonal \
         columns={l} rows={d} diagonals={k} ssrc=4243"
    )
}

/// The media offsets (from the SN base) a flexfec-03 repair packet names: read from the
/// bytes (RTP header without CSRCs, FlexFEC header, mask at byte 18 of it).
fn flexfec03_offsets(p: &[u8]) -> (u16, BTreeSet<usize>) {
    let h = &p[12..];
    assert_eq!(h[0] & 0xc0, 0, "R = 0, F = 0: flexible mask");
    assert_eq!(h[8], 1, "one protected SSRC");
    assert_eq!(&h[12..16], &SSRC.to_be_bytes(), "the media SSRC");
    let sn_base = u16::from_be_bytes([h[16], h[17]]);
    let mut offsets = BTreeSet::new();
    let mut at = 18;
    let mut first = 0;
    for (bytes, bits) in [(2usize, 15usize), (4, 31), (8, 63)] {
        let chunk = h[at..at + bytes]
            .iter()
            .fold(0u64, |v, &b| (v << 8) | u64::from(b));
        for k in 0..bits {
            if chunk & (1 << (bits - 1 - k)) != 0 {
                offsets.insert(first + k);
            }
        }
        at += bytes;
        first += bits;
        if chunk >> bits & 1 == 1 {
            return (sn_base, offsets);
        }
    }
    panic!("no chunk with K set");
}

#[test]
fn column_diagonal_masks_are_the_columns_and_diagonals_in_flexfec03() {
    common::init();
    for (l, d, k) in CONFIGS {
        let media = blocks_of_media(l, d);
        let stream = run(&encoder("flexfec-03", (l, d, k)), &media);
        let fec: Vec<&Vec<u8>> = stream.iter().filter(|p| pt(p) == FLEX_PT).collect();
        assert_eq!(fec.len(), 3 * (k + 1) * l, "(1 + k)·L per block");
        // Each repair's set, as block-relative indexes, by block.
        let mut by_block: BTreeMap<usize, BTreeSet<Vec<usize>>> = BTreeMap::new();
        for p in &fec {
            let (base, offsets) = flexfec03_offsets(p);
            let first = usize::from(base.wrapping_sub(65500));
            let block = first / (l * d);
            let set: Vec<usize> = offsets.iter().map(|o| first + o - block * l * d).collect();
            assert!(set.iter().all(|&i| i < l * d), "{set:?} stays in its block");
            by_block.entry(block).or_default().insert(set);
        }
        let mut want = BTreeSet::new();
        for s in 0..=k {
            for j in 0..l {
                want.insert(
                    (0..l * d)
                        .filter(|i| (i % l + s * (i / l)) % l == j)
                        .collect::<Vec<usize>>(),
                );
            }
        }
        assert_eq!(by_block.len(), 3);
        for (block, sets) in by_block {
            assert_eq!(
                sets, want,
                "{l}x{d}/{k}, block {block}: columns and diagonals"
            );
        }
    }
}

#[test]
fn column_diagonal_recovers_a_burst_a_crowded_column_and_a_lost_repair_both_formats() {
    common::init();
    for format in FORMATS {
        for (l, d, k) in CONFIGS {
            let media = blocks_of_media(l, d);
            let stream = run(&encoder(format, (l, d, k)), &media);
            // Block 0: a burst of L. Block 1: rows 0 to k of column 1 (the column repair
            // cannot, their diagonals can). Block 2: a burst of 3 and the first repair packet
            // sent (block 0's column 0, whose lost packet a diagonal rebuilds).
            let b = l * d;
            let lost_media: Vec<usize> = (3..3 + l)
                .chain((0..=k).map(|r| b + r * l + 1))
                .chain(2 * b + 5..2 * b + 8)
                .collect();
            let lost: Vec<u16> = lost_media.iter().map(|&i| seq(&media[i])).collect();
            let first_fec = stream.iter().position(|p| pt(p) == FLEX_PT).unwrap();
            let kept: Vec<Vec<u8>> = (stream.iter().enumerate())
                .filter(|(at, p)| {
                    *at != first_fec && !(pt(p) == MEDIA_PT && lost.contains(&seq(p)))
                })
                .map(|(_, p)| p.clone())
                .collect();
            decode_expect_all(format, &kept, &media, lost.len(), &format!("{l}x{d}/{k}"));
        }
        // The first losses under 2-D at the same overhead (4×4: 50 %) are not all
        // recovered: the burst breaks its rows.
        let media = blocks_of_media(8, 4);
        let stream = run(
            &format!(
                "rtpflexfecenc2 pt={FLEX_PT} wire-format={format} protection=row-column \
                 columns=4 rows=4 ssrc=4243"
            ),
            &media,
        );
        let lost: Vec<u16> = (3..11).map(|i| seq(&media[i])).collect();
        let kept: Vec<Vec<u8>> = (stream.iter())
            .filter(|p| !(pt(p) == MEDIA_PT && lost.contains(&seq(p))))
            .cloned()
            .collect();
        let mut h = gst_check::Harness::new_parse(&format!(
            "rtpflexfecdec2 pt={FLEX_PT} wire-format={format}"
        ));
        h.set_src_caps_str(CAPS);
        push_all(&mut h, &kept);
        let st = stats(&mut h, "rtpflexfecdec2");
        assert!(st.get::<u64>("unrecovered").unwrap() > 0, "2-D: {st}");
    }
}
