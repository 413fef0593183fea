// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Every available level gives the scalar result, on random input.

use proptest::prelude::*;

use super::*;
use crate::rtp::RtpPacket;

#[test]
fn one_header_byte_for_byte() {
    let t = HeaderTemplate {
        payload_type: 96,
        ssrc: 0x1122_3344,
    };
    for level in available().iter().copied() {
        let mut out = [[0u8; 12]; 2];
        write_headers(
            level,
            &t,
            0xfffe,
            &[0xaabb_ccdd, 5],
            &[true, false],
            &mut out,
        );
        assert_eq!(
            out[0],
            [
                0x80, 0xe0, 0xff, 0xfe, 0xaa, 0xbb, 0xcc, 0xdd, 0x11, 0x22, 0x33, 0x44
            ],
            "{level:?}"
        );
        assert_eq!(&out[1][..4], &[0x80, 0x60, 0xff, 0xff], "{level:?}");
    }
    #[cfg(target_arch = "aarch64")]
    assert!(
        available().contains(&Level::Neon),
        "NEON is tested under qemu"
    );
}

#[test]
fn forcing_a_level() {
    let all = [Level::Scalar, Level::Sse2, Level::Avx2, Level::Avx512];
    assert_eq!(choose(None, &all), Level::Avx512);
    assert_eq!(choose(Some("avx2"), &all), Level::Avx2);
    assert_eq!(choose(Some(" SCALAR "), &all), Level::Scalar);
    // Never above what the CPU has.
    assert_eq!(choose(Some("avx512"), &all[..2]), Level::Sse2);
    assert_eq!(choose(Some("bogus"), &all[..3]), Level::Avx2);
    assert_eq!(choose(Some("neon"), &[Level::Scalar]), Level::Scalar);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn writes_equal_scalar(
        pt in 0u8..128,
        ssrc in any::<u32>(),
        first_seq in prop_oneof![any::<u16>(), 65500u16..],
        items in proptest::collection::vec((any::<u32>(), any::<bool>()), 0..70),
    ) {
        let t = HeaderTemplate { payload_type: pt, ssrc };
        let (ts, markers): (Vec<u32>, Vec<bool>) = items.into_iter().unzip();
        let mut reference = vec![[0u8; 12]; ts.len()];
        write_headers(Level::Scalar, &t, first_seq, &ts, &markers, &mut reference);
        for (i, h) in reference.iter().enumerate() {
            // The scalar writer agrees with the RTP parser.
            let p = RtpPacket::parse(h).unwrap();
            prop_assert_eq!(p.sequence_number(), first_seq.wrapping_add(i as u16));
            prop_assert_eq!(p.timestamp(), ts[i]);
            prop_assert_eq!(p.marker(), markers[i]);
            prop_assert_eq!(p.payload_type(), pt);
            prop_assert_eq!(p.ssrc(), ssrc);
        }
        for level in available().iter().copied() {
            let mut out = vec![[0u8; 12]; ts.len()];
            write_headers(level, &t, first_seq, &ts, &markers, &mut out);
            prop_assert_eq!(&out, &reference, "{:?}", level);
        }
        // The automatic writer too, whose batches under one SIMD step skip the level.
        let mut out = vec![[0u8; 12]; ts.len()];
        prop_assert_eq!(write_headers_auto(&t, first_seq, &ts, &markers, &mut out), ts.len());
        prop_assert_eq!(&out, &reference, "auto");
    }

    #[test]
    fn parses_equal_scalar(
        packets in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..40),
                proptest::collection::vec(any::<u8>(), 12..40).prop_map(|mut p| {
                    p[0] = (p[0] & 0x3f) | 0x80;
                    p
                }),
            ],
            0..70,
        ),
    ) {
        let slices: Vec<&[u8]> = packets.iter().map(Vec::as_slice).collect();
        let mut reference = Vec::new();
        parse_headers(Level::Scalar, &slices, &mut reference);
        prop_assert_eq!(reference.len(), packets.len());
        for (p, h) in packets.iter().zip(&reference) {
            prop_assert_eq!(h.is_some(), p.len() >= 12 && p[0] >> 6 == 2);
            if let Some(h) = h {
                prop_assert_eq!(h.seq, u16::from_be_bytes([p[2], p[3]]));
                prop_assert_eq!(h.timestamp, u32::from_be_bytes([p[4], p[5], p[6], p[7]]));
                prop_assert_eq!(h.ssrc, u32::from_be_bytes([p[8], p[9], p[10], p[11]]));
                prop_assert_eq!(h.marker, p[1] & 0x80 != 0);
                prop_assert_eq!(h.payload_type, p[1] & 0x7f);
                prop_assert_eq!(h.csrc_count, p[0] & 0x0f);
            }
        }
        for level in available().iter().copied() {
            let mut out = Vec::new();
            parse_headers(level, &slices, &mut out);
            prop_assert_eq!(&out, &reference, "{:?}", level);
        }
    }
}
