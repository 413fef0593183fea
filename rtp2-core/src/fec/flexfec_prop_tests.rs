// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Encode → drop any subset of media packets within the protection's guarantee → the
//! receiver gives back the original bytes; garbage never panics.

use crate::fec::flexfec::{FlexfecHeader, WireFormat};
use crate::fec::flexfec_receiver::FlexfecReceiver;
use crate::fec::flexfec_sender::{FlexfecSender, Protection};
use crate::fec::masks::MaskKind;
use crate::fec::recovery::WindowLimits;
use proptest::prelude::*;

const MEDIA_SSRC: u32 = 0x5eed_0001;

fn media(seq: u16, seed: u64, i: usize) -> Vec<u8> {
    let mut x = seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let len = 1 + (next() % 300) as usize;
    let mut p = vec![0x80, next() as u8];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(next() as u32).to_be_bytes());
    p.extend_from_slice(&MEDIA_SSRC.to_be_bytes());
    p.extend((0..len).map(|_| next() as u8));
    p
}

/// Keeps of `lost` (indexes of a run of `n` packets) only what `protection` guarantees to
/// recover with every repair packet received.
fn within_guarantee(protection: Protection, n: usize, lost: &[bool]) -> Vec<bool> {
    let mut keep = vec![false; n];
    match protection {
        Protection::Flexible { .. } => {
            // Interleaved masks, one group per frame of `n`: one burst of up to k losses.
            let k = n.div_ceil(2); // the FEC count at 50 % (below): n / 2 rounded up
            if let Some(start) = lost.iter().position(|&l| l) {
                for k in keep.iter_mut().skip(start).take(k) {
                    *k = true;
                }
            }
        }
        Protection::Row { l } | Protection::RowColumn { l, .. } => {
            // At most one loss per row.
            let l = usize::from(l);
            for row in 0..n.div_ceil(l) {
                if let Some(i) = (row * l..((row + 1) * l).min(n)).find(|&i| lost[i]) {
                    keep[i] = true;
                }
            }
        }
        Protection::Column { l, d } | Protection::ColumnDiagonal { l, d, .. } => {
            // At most one loss per column of each block.
            let (l, d) = (usize::from(l), usize::from(d));
            for block in 0..n.div_ceil(l * d) {
                for c in 0..l {
                    if let Some(i) = (0..d)
                        .map(|r| block * l * d + r * l + c)
                        .find(|&i| i < n && lost[i])
                    {
                        keep[i] = true;
                    }
                }
            }
        }
    }
    keep
}

fn run(format: WireFormat, protection: Protection, seed: u64, lost: &[bool], start: u16) {
    let n = lost.len();
    let mut sender = FlexfecSender::new(format, protection, 0xfec0_fec0, 110, 7);
    let mut receiver = FlexfecReceiver::new(format, WindowLimits::default(), 4);
    let packets: Vec<Vec<u8>> = (0..n)
        .map(|i| media(start.wrapping_add(i as u16), seed, i))
        .collect();
    let mut got = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        let repairs = sender.push(p);
        if !lost[i] {
            got.extend(receiver.on_media(p, i as u64));
        }
        for r in repairs {
            got.extend(
                receiver
                    .on_fec(&r, i as u64)
                    .expect("our repair packets parse"),
            );
        }
    }
    for r in sender.flush() {
        got.extend(receiver.on_fec(&r, n as u64).expect("parses"));
    }
    // A last packet after the run shows a trailing loss as a gap.
    let tail = media(start.wrapping_add(n as u16), seed, n);
    got.extend(receiver.on_media(&tail, n as u64));
    let expected: Vec<&Vec<u8>> = (0..n).filter(|&i| lost[i]).map(|i| &packets[i]).collect();
    let got: Vec<&Vec<u8>> = got.iter().map(|r| &r.packet).collect();
    assert_eq!(
        got.len(),
        expected.len(),
        "every packet within the guarantee recovered"
    );
    for e in expected {
        assert!(got.contains(&e), "recovered bytes are the originals");
    }
    assert_eq!(receiver.stats().unrecovered, 0);
}

fn protections() -> impl Strategy<Value = Protection> {
    prop_oneof![
        Just(Protection::Flexible {
            kind: MaskKind::Interleaved,
            percentage: 50,
            max_frames: 1,
        }),
        (1u8..12).prop_map(|l| Protection::Row { l }),
        (1u8..8, 2u8..8).prop_map(|(l, d)| Protection::Column { l, d }),
        (1u8..8, 2u8..8).prop_map(|(l, d)| Protection::RowColumn { l, d }),
        // What the sender runs (l ≥ d, coprime with the slope differences) is what the
        // guarantee assumes.
        (2u8..8, 0u8..5, 2u8..5).prop_map(|(d, extra, k)| {
            let l = d + extra;
            let l = if k > 2 && l % 2 == 0 { l + 1 } else { l };
            let l = if k > 3 && l % 3 == 0 { l + 2 } else { l };
            Protection::ColumnDiagonal { l, d, k }
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn recovers_every_loss_within_the_guarantee(
        rfc in any::<bool>(),
        protection in protections(),
        seed in any::<u64>(),
        start in any::<u16>(),
        lost in prop::collection::vec(any::<bool>(), 1..120),
    ) {
        let format = if rfc { WireFormat::Rfc8627 } else { WireFormat::Flexfec03 };
        let n = lost.len();
        let lost = if let Protection::Flexible { .. } = protection {
            // One group: the frame's last packet carries the marker (set below).
            within_guarantee(protection, n.min(48), &lost[..n.min(48)])
        } else {
            within_guarantee(protection, n, &lost)
        };
        if let Protection::Flexible { .. } = protection {
            run_frame(format, protection, seed, &lost, start);
        } else {
            // Complete rows and blocks only: a partial one at the end has no repair.
            let unit = match protection {
                Protection::Row { l } => usize::from(l),
                Protection::Column { l, d }
                | Protection::RowColumn { l, d }
                | Protection::ColumnDiagonal { l, d, .. } => usize::from(l) * usize::from(d),
                _ => 1,
            };
            let whole = lost.len() / unit * unit;
            run(format, protection, seed, &lost[..whole], start);
        }
    }

    #[test]
    fn garbage_never_panics(
        rfc in any::<bool>(),
        data in prop::collection::vec(any::<u8>(), 0..200),
        csrcs in prop::collection::vec(any::<u32>(), 0..16),
    ) {
        let format = if rfc { WireFormat::Rfc8627 } else { WireFormat::Flexfec03 };
        if let Ok((h, len)) = FlexfecHeader::parse(format, &data, &csrcs) {
            prop_assert!(len <= data.len());
            let mut out = Vec::new();
            if h.write(format, &mut out).is_ok() {
                // Reserved bits are not kept; everything else reads back the same.
                let (again, n) = FlexfecHeader::parse(format, &out, &csrcs).expect("written parses");
                prop_assert_eq!(again, h);
                prop_assert_eq!(n, out.len());
            }
        }
        let limits = WindowLimits { max_media: 16, max_fec: 8, max_age: 100 };
        let mut r = FlexfecReceiver::new(format, limits, 2);
        let _ = r.on_fec(&data, 0);
        let _ = r.on_media(&data, 1);
        let (streams, m, f) = r.held();
        prop_assert!(streams <= 2 && m <= 32 && f <= 16);
    }
}

/// One frame (marker on its last packet) with flexible protection.
fn run_frame(format: WireFormat, protection: Protection, seed: u64, lost: &[bool], start: u16) {
    let n = lost.len();
    let mut sender = FlexfecSender::new(format, protection, 0xfec0_fec0, 110, 7);
    let mut receiver = FlexfecReceiver::new(format, WindowLimits::default(), 4);
    let mut packets: Vec<Vec<u8>> = (0..n)
        .map(|i| media(start.wrapping_add(i as u16), seed, i))
        .collect();
    for (i, p) in packets.iter_mut().enumerate() {
        p[1] = (p[1] & 0x7f) | if i + 1 == n { 0x80 } else { 0 };
    }
    // A first packet received, so that the frame's losses are gaps behind it.
    let mut got = Vec::new();
    let before = media(start.wrapping_sub(1), seed, 999);
    receiver.on_media(&before, 0);
    let mut repairs = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        repairs.extend(sender.push(p));
        if !lost[i] {
            got.extend(receiver.on_media(p, 0));
        }
    }
    let tail = media(start.wrapping_add(n as u16), seed, n);
    got.extend(receiver.on_media(&tail, 0));
    for r in repairs {
        got.extend(receiver.on_fec(&r, 0).expect("parses"));
    }
    let expected: Vec<&Vec<u8>> = (0..n).filter(|&i| lost[i]).map(|i| &packets[i]).collect();
    let mut got: Vec<(u64, &Vec<u8>)> = got.iter().map(|r| (r.ext_seqnum, &r.packet)).collect();
    got.sort();
    let got: Vec<&Vec<u8>> = got.into_iter().map(|(_, p)| p).collect();
    assert_eq!(got, expected);
}
