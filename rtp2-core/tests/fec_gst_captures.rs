// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! GStreamer's own captured ULPFEC packets (every byte vector of gst-plugins-good
//! `tests/check/elements/packets.h`, in `fixtures/gst_ulpfec_packets.txt`) through the
//! recovery window: each lost media packet an FEC packet protects comes back byte-exact,
//! also when recovering it needs another recovered packet first, and the broken capture
//! (`SAMPLE_ISSUE_7049`) rebuilds nothing.

use std::collections::HashMap;
use std::sync::LazyLock;

use rtp2_core::fec::recovery::{Recovered, RecoveryWindow, WindowLimits};
use rtp2_core::fec::ulpfec::FecPacket;

static PACKETS: LazyLock<HashMap<&'static str, Vec<u8>>> = LazyLock::new(|| {
    include_str!("fixtures/gst_ulpfec_packets.txt")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .map(|(name, hex)| {
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (name, bytes)
        })
        .collect()
});

fn packet(name: &str) -> &'static [u8] {
    PACKETS
        .get(name)
        .unwrap_or_else(|| panic!("{name} in the fixture"))
}

fn seq(p: &[u8]) -> u64 {
    // Far from 0, so that extended numbers never go below it.
    (1 << 20) + u64::from(u16::from_be_bytes([p[2], p[3]]))
}

fn ssrc(p: &[u8]) -> u32 {
    u32::from_be_bytes([p[8], p[9], p[10], p[11]])
}

/// The RTP payload: after the fixed header and the CSRCs (RFC 3550 §5.1; none of the
/// captures has a header extension).
fn rtp_payload(p: &[u8]) -> &[u8] {
    assert_eq!(p[0] & 0x10, 0, "no header extension");
    &p[12 + 4 * usize::from(p[0] & 0x0f)..]
}

/// `media` (names) then `fec` (names of whole FEC packets) into a window of SSRC `ssrc`;
/// every packet recovered, in order.
fn recover(ssrc: u32, media: &[&str], fec: &[&str]) -> Vec<Recovered> {
    let mut w = RecoveryWindow::new(ssrc, WindowLimits::default());
    let mut out = Vec::new();
    for m in media {
        let p = packet(m);
        out.extend(w.insert_media(seq(p), p, 0));
    }
    for f in fec {
        let p = packet(f);
        out.extend(w.insert_fec(seq(p), rtp_payload(p), 0).expect(f));
    }
    out
}

fn assert_recovered(got: &[Recovered], want: &[&str], what: &str) {
    let got: Vec<(u64, &[u8])> = got.iter().map(|r| (r.ext_seqnum, &r.packet[..])).collect();
    let want: Vec<(u64, &[u8])> = want.iter().map(|n| (seq(packet(n)), packet(n))).collect();
    assert!(
        got == want,
        "{what}: recovered {:?}, want {:?}",
        got.iter().map(|g| g.0).collect::<Vec<_>>(),
        want.iter().map(|w| w.0).collect::<Vec<_>>()
    );
}

const SAMPLE1: [&str; 4] = [
    "SAMPLE1_4PKTS_1",
    "SAMPLE1_4PKTS_2",
    "SAMPLE1_4PKTS_3",
    "SAMPLE1_4PKTS_4",
];

#[test]
fn sample1_fec_packets_rebuild_each_packet_they_protect() {
    let s = ssrc(packet(SAMPLE1[0]));
    // One packet protected: the FEC packet alone rebuilds it.
    assert_recovered(
        &recover(s, &[], &["SAMPLE1_4PKTS_1_FEC"]),
        &[SAMPLE1[0]],
        "1_FEC",
    );
    assert_recovered(
        &recover(s, &[], &["SAMPLE1_4PKTS_2_FEC"]),
        &[SAMPLE1[1]],
        "2_FEC",
    );
    // Four protected (short mask, and the same with a 48-bit mask and an earlier SN base).
    for fec in ["SAMPLE1_4PKTS_FEC", "SAMPLE1_4PKTS_FEC_LONG"] {
        for lost in SAMPLE1 {
            let kept: Vec<&str> = SAMPLE1.iter().copied().filter(|m| *m != lost).collect();
            assert_recovered(
                &recover(s, &kept, &[fec]),
                &[lost],
                &format!("{fec} {lost}"),
            );
        }
    }
}

#[test]
fn sample2_fec_payload_rebuilds_the_packet_with_the_ssrc_of_its_stream() {
    // An FEC payload alone (no RTP header), SN base 36921; the SSRC is not protected
    // (RFC 5109 §9.2): the receiver gives its own.
    let fec = packet("SAMPLE2_1PKT_1_FEC");
    for media in ["SAMPLE2_1PKT_1_SSRC_0x1", "SAMPLE2_1PKT_1_SSRC_0xd2c442fa"] {
        let want = packet(media);
        let mut w = RecoveryWindow::new(ssrc(want), WindowLimits::default());
        let got = w.insert_fec(seq(want), fec, 0).unwrap();
        assert_recovered(&got, &[media], media);
    }
}

#[test]
fn ulpfec0_rebuilds_with_a_short_and_a_long_mask() {
    let media = "SAMPLE_ULPFEC0_MEDIA";
    let s = ssrc(packet(media));
    assert_recovered(
        &recover(s, &[], &["SAMPLE_ULPFEC0_FEC"]),
        &[media],
        "short mask",
    );
    // The same FEC packet rewritten with a 48-bit mask (RFC 5109 §7.4: L set, 4 more mask
    // bytes) whose last bit is the packet: SN base 36921 − 47 = 36874, as GStreamer's
    // rtpulpfec test builds it.
    let fec = packet("SAMPLE_ULPFEC0_FEC");
    let mut long = fec[..26].to_vec();
    long[12] |= 0x40;
    long[14..16].copy_from_slice(&36874u16.to_be_bytes());
    long[24..26].copy_from_slice(&[0, 0]);
    long.extend_from_slice(&[0, 0, 0, 1]);
    long.extend_from_slice(&fec[26..]);
    assert_eq!(
        FecPacket::parse(&long[12..])
            .unwrap()
            .offsets()
            .collect::<Vec<_>>(),
        [47]
    );
    let mut w = RecoveryWindow::new(s, WindowLimits::default());
    let got = w.insert_fec(seq(&long), &long[12..], 0).unwrap();
    assert_recovered(&got, &[media], "long mask");
}

const ULPFEC1: [&str; 4] = [
    "SAMPLE_ULPFEC1_MEDIA0",
    "SAMPLE_ULPFEC1_MEDIA1",
    "SAMPLE_ULPFEC1_MEDIA2",
    "SAMPLE_ULPFEC1_MEDIA3",
];

#[test]
fn ulpfec1_rebuilds_any_one_loss_and_a_chain_of_three() {
    let s = ssrc(packet(ULPFEC1[0]));
    // FEC0 protects 8476–8479, FEC1 8476–8477: any one media packet lost comes back.
    for lost in ULPFEC1 {
        let kept: Vec<&str> = ULPFEC1.iter().copied().filter(|m| *m != lost).collect();
        let got = recover(s, &kept, &["SAMPLE_ULPFEC1_FEC0", "SAMPLE_ULPFEC1_FEC1"]);
        assert_recovered(&got, &[lost], lost);
    }
    // Only MEDIA2 and the three FEC packets (FEC2 protects 8477–8478): 8477 from FEC2, then
    // 8476 from FEC1 with it, then 8479 from FEC0 with both.
    let got = recover(
        s,
        &[ULPFEC1[2]],
        &[
            "SAMPLE_ULPFEC1_FEC0",
            "SAMPLE_ULPFEC1_FEC1",
            "SAMPLE_ULPFEC1_FEC2",
        ],
    );
    assert_recovered(&got, &[ULPFEC1[0], ULPFEC1[1], ULPFEC1[3]], "chain");
}

#[test]
fn issue_7049_capture_rebuilds_nothing() {
    // An FEC packet whose recovery fields make no RTP packet (GStreamer issue 7049: CC 10
    // and a header extension in 170 bytes). Counted unusable, nothing rebuilt, no panic.
    let p = packet("SAMPLE_ISSUE_7049");
    let mut w = RecoveryWindow::new(ssrc(p), WindowLimits::default());
    let got = w.insert_fec(seq(p), rtp_payload(p), 0);
    assert!(got.is_ok_and(|r| r.is_empty()));
}

/// Microsoft's captures (`SAMPLE_AVMCU*`, `SAMPLE_SFB*`, from an AVMCU and Skype for
/// Business) are not RFC 5109 packets: the E bit is set, the SN base field holds the distance
/// back from the FEC packet's own number, two more bytes follow the level header, and
/// AVMCU2's FEC2–FEC5 are no XOR parity of the packets their masks name. Like C's decoder,
/// which refuses the E bit, ours refuses them (a counted drop in the elements), never
/// rebuilding garbage from them.
#[test]
fn microsoft_captures_are_refused_by_their_e_bit() {
    let names: Vec<&str> = PACKETS
        .keys()
        .copied()
        .filter(|n| (n.contains("AVMCU") || n.contains("SFB")) && n.contains("FEC"))
        .collect();
    assert_eq!(names.len(), 11);
    for name in names {
        let p = packet(name);
        let mut w = RecoveryWindow::new(ssrc(p), WindowLimits::default());
        assert_eq!(
            w.insert_fec(seq(p), rtp_payload(p), 0).err(),
            Some(rtp2_core::fec::ulpfec::UlpfecError::ExtensionBit),
            "{name}"
        );
        assert_eq!(w.len(), (0, 0));
    }
}
