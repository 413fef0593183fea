// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

use super::*;
use proptest::prelude::*;

/// An RTP packet written byte by byte (RFC 3550 §5.1).
fn rtp(b0: u8, b1: u8, seq: u16, ts: u32, ssrc: u32, rest: &[u8]) -> Vec<u8> {
    let mut p = vec![b0, b1];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(rest);
    p
}

/// The FEC payload of two packets, computed by hand from RFC 5109 §7.3/§8.
#[test]
fn encodes_the_rfc_layout() {
    let a = rtp(0x80, 0x60, 10, 0x1000, 7, &[1, 2, 3]);
    let b = rtp(0x80, 0xe0, 11, 0x1001, 7, &[0xf0]);
    let fec = encode(10, &[(0, &a), (1, &b)]).unwrap();
    #[rustfmt::skip]
    let want = [
        0x00, 0x60 ^ 0xe0, 0, 10, 0, 0, 0, 0x01, 0, 3 ^ 1, // FEC header
        0, 3, 0xc0, 0x00,                                   // level 0: len 3, mask 11000…
        1 ^ 0xf0, 2, 3,                                     // XOR, zero-padded
    ];
    assert_eq!(fec, want);
    let parsed = FecPacket::parse(&fec).unwrap();
    assert_eq!(parsed.offsets().collect::<Vec<_>>(), [0, 1]);
    assert_eq!(parsed.recover(11, 7, &[&a]).unwrap(), b);
    assert_eq!(parsed.recover(10, 7, &[&b]).unwrap(), a);
}

/// The in-place writer fills memory whatever it held (an output buffer's is not zeroed):
/// the RFC 5109 bytes of the hand-computed case above, over junk, short and long mask.
#[test]
fn layout_writes_over_junk_what_the_rfc_layout_says() {
    let a = rtp(0x80, 0x60, 10, 0x1000, 7, &[1, 2, 3]);
    let b = rtp(0x80, 0xe0, 11, 0x1001, 7, &[0xf0]);
    #[rustfmt::skip]
    let want = [
        0x00, 0x60 ^ 0xe0, 0, 10, 0, 0, 0, 0x01, 0, 3 ^ 1,
        0, 3, 0xc0, 0x00,
        1 ^ 0xf0, 2, 3,
    ];
    // The shorter packet first: the parity starts as its copy, the rest zero-padded.
    let layout = FecLayout::of([(1, &b[..]), (0, &a[..])]).unwrap();
    assert_eq!(layout.len(), want.len());
    let mut out = vec![0xaa; layout.len()];
    layout.write(10, [&b[..], &a[..]], &mut out);
    assert_eq!(out, want);
    // Long mask (an offset of 16 or more): eight-byte level header, L set.
    let layout = FecLayout::of([(0, &a[..]), (40, &b[..])]).unwrap();
    let mut out = vec![0x55; layout.len()];
    layout.write(10, [&a[..], &b[..]], &mut out);
    assert_eq!(out, encode(10, &[(0, &a), (40, &b)]).unwrap());
    assert_eq!(out.len(), 10 + 8 + 3);
    assert_eq!(out[0] & 0x40, 0x40);
    // Offset 0: the first bit; offset 40: the first bit of the sixth mask byte.
    assert_eq!(out[12..18], [0x80, 0x00, 0x00, 0x00, 0x00, 0x80]);
    assert_eq!(
        FecLayout::of(std::iter::empty::<(u16, &[u8])>()),
        Err(UlpfecError::BadInput)
    );
    assert_eq!(FecLayout::of([(48, &a[..])]), Err(UlpfecError::BadInput));
}

#[test]
fn long_mask_sets_l_and_eight_byte_level_header() {
    let a = rtp(0x80, 0x60, 10, 1, 7, &[9]);
    let fec = encode(10, &[(20, &a)]).unwrap();
    assert_eq!(fec[0] & 0x40, 0x40);
    assert_eq!(&fec[12..18], &[0, 0, 0x08, 0, 0, 0]);
    let parsed = FecPacket::parse(&fec).unwrap();
    assert!(parsed.long_mask);
    assert_eq!(parsed.offsets().collect::<Vec<_>>(), [20]);
}

/// The start of GStreamer's capture `SAMPLE1_4PKTS_1` / `SAMPLE1_4PKTS_1_FEC`
/// (gst-plugins-good tests/check/elements/packets.h): an FEC packet (PT 22) protecting one
/// media packet (PT 126, seq 0x211c). Its header recovers the media header exactly.
#[test]
fn gstreamer_capture_header_recovers_media_header() {
    let media_head = [
        0x80u8, 0x7e, 0x21, 0x1c, 0xe5, 0xf5, 0x8a, 0xaf, 0x22, 0x78, 0x81, 0x97, 0x61, 0x9a, 0x00,
        0x08, 0x06, 0x7e, 0x85, 0x76,
    ];
    let fec_rtp_head = [
        0x80u8, 0x16, 0x03, 0x57, 0xe5, 0xf5, 0x8a, 0xaf, 0x22, 0x78, 0x81, 0x97,
    ];
    let mut fec_payload = vec![
        0x00u8, 0x7e, 0x21, 0x1c, 0xe5, 0xf5, 0x8a, 0xaf, 0x03, 0xe3, 0x03, 0xe3, 0x80, 0x00,
    ];
    // The capture's data starts like the media's payload (one protected packet); the rest of
    // its 995 bytes are not reproduced here and left zero.
    fec_payload.extend_from_slice(&media_head[12..]);
    fec_payload.resize(14 + 0x3e3, 0);
    let parsed = FecPacket::parse(&fec_payload).unwrap();
    assert_eq!(parsed.sn_base, 0x211c);
    assert_eq!(parsed.offsets().collect::<Vec<_>>(), [0]);
    let ssrc = u32::from_be_bytes(fec_rtp_head[8..12].try_into().unwrap());
    let rec = parsed.recover(0x211c, ssrc, &[]).unwrap();
    assert_eq!(rec.len(), 12 + 0x3e3);
    assert_eq!(rec[..media_head.len()], media_head);
}

#[test]
fn broken_fec_payloads_are_errors() {
    assert_eq!(FecPacket::parse(&[0; 9]), Err(UlpfecError::Truncated));
    assert_eq!(
        FecPacket::parse(&[0x80; 14]),
        Err(UlpfecError::ExtensionBit)
    );
    assert_eq!(
        FecPacket::parse(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x80, 0]),
        Err(UlpfecError::ProtectionLength)
    );
    assert_eq!(
        FecPacket::parse(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        Err(UlpfecError::EmptyMask)
    );
    // Length recovery says 5 bytes but only 1 is protected.
    let fec = [0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 1, 0x80, 0, 0];
    let p = FecPacket::parse(&fec).unwrap();
    assert_eq!(p.recover(0, 0, &[]), Err(UlpfecError::TooLong));
    assert_eq!(encode(0, &[]), Err(UlpfecError::BadInput));
    assert_eq!(
        encode(0, &[(48, &[0u8; 12][..])]),
        Err(UlpfecError::BadInput)
    );
}

fn packet_strategy() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u32>(),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(b0, b1, ts, rest)| rtp(0x80 | (b0 & 0x3f), b1, 0, ts, 0x5555, &rest))
}

proptest! {
    /// Encode n packets into one FEC packet, drop any one: recovery gives its exact bytes.
    #[test]
    fn any_single_loss_is_recovered(
        mut packets in proptest::collection::vec(packet_strategy(), 1..20),
        lost in any::<prop::sample::Index>(),
        base in any::<u16>(),
        spread in 1u16..3,
    ) {
        for (i, p) in packets.iter_mut().enumerate() {
            let seq = base.wrapping_add(i as u16 * spread);
            p[2..4].copy_from_slice(&seq.to_be_bytes());
        }
        let refs: Vec<(u16, &[u8])> = packets.iter().enumerate()
            .map(|(i, p)| (i as u16 * spread, &p[..])).collect();
        let fec = encode(base, &refs).unwrap();
        let parsed = FecPacket::parse(&fec).unwrap();
        let lost = lost.index(packets.len());
        let others: Vec<&[u8]> = packets.iter().enumerate()
            .filter(|(i, _)| *i != lost).map(|(_, p)| &p[..]).collect();
        let seq = base.wrapping_add(lost as u16 * spread);
        prop_assert_eq!(parsed.recover(seq, 0x5555, &others).unwrap(), packets[lost].clone());
    }

    #[test]
    fn parse_and_recover_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        if let Ok(p) = FecPacket::parse(&bytes) {
            let _ = p.recover(1, 2, &[&bytes]);
        }
    }
}
