// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! RED (RFC 2198) against GStreamer's C elements, both ways, and what ours adds: several
//! redundant blocks, each lost packet rebuilt from a later one with its exact number.
//! Input packets are written by hand (RFC 3550 §5.1): an audio-like stream, one packet per
//! timestamp.

mod common;
mod fec_support;

use fec_support::*;
use gst::prelude::*;

const RED_PT: u8 = 100;

/// 40 packets of 20 ms at 8 kHz (160 ticks), sizes varying.
fn audio() -> Vec<Vec<u8>> {
    (0..40u16)
        .map(|i| {
            let payload: Vec<u8> = (0..(20 + usize::from(i) * 13 % 90))
                .map(|k| k as u8 ^ i as u8)
                .collect();
            common::rtp_packet(
                MEDIA_PT,
                500 + i,
                8000 + u32::from(i) * 160,
                SSRC,
                false,
                &payload,
            )
        })
        .collect()
}

fn drop_seqs(packets: &[Vec<u8>], lost: &[u16]) -> Vec<Vec<u8>> {
    packets
        .iter()
        .filter(|p| !lost.contains(&seq(p)))
        .cloned()
        .collect()
}

#[test]
fn c_encoder_to_our_decoder_gives_the_primaries_back() {
    common::init();
    let media = audio();
    let red = run(&format!("rtpredenc pt={RED_PT} distance=1"), &media);
    assert_eq!(red.len(), media.len());
    assert!(red.iter().all(|p| pt(p) == RED_PT), "C wraps every packet");
    let ours = run(&format!("rtpreddec2 pt={RED_PT}"), &red);
    let c = run(&format!("rtpreddec pt={RED_PT}"), &red);
    assert_packets(&ours, &media, "ours: the input back");
    assert_packets(&c, &media, "C: the input back");
}

#[test]
fn our_encoder_to_c_decoder_gives_the_primaries_back() {
    common::init();
    let media = audio();
    for blocks in [1, 3] {
        let red = run(
            &format!("rtpredenc2 pt={RED_PT} distance=1 redundant-blocks={blocks}"),
            &media,
        );
        let c = run(&format!("rtpreddec pt={RED_PT}"), &red);
        assert_packets(&c, &media, &format!("C decodes ours, {blocks} blocks"));
        // With no loss, the RED payload is the blocks of the `blocks` packets before
        // (RFC 2198 §3: 4-byte headers, then 1 byte, then the data).
        let last = &red[red.len() - 1];
        let block_data: usize = (1..=blocks)
            .map(|d| media[media.len() - 1 - d].len() - 12)
            .sum();
        assert_eq!(
            last.len(),
            12 + 4 * blocks + 1 + block_data + media[media.len() - 1].len() - 12
        );
    }
}

#[test]
fn lost_packets_come_back_from_redundant_blocks_with_their_numbers() {
    common::init();
    let media = audio();
    // Ours: three blocks, a burst of three lost is rebuilt from the next packet.
    let red = run(
        &format!("rtpredenc2 pt={RED_PT} distance=1 redundant-blocks=3"),
        &media,
    );
    let lost = [510u16, 511, 512, 520];
    let out = run(&format!("rtpreddec2 pt={RED_PT}"), &drop_seqs(&red, &lost));
    assert_packets(&out, &media, "every packet, in order, byte-exact");
    let h = gst_check::Harness::new("rtpreddec2");
    assert_eq!(h.element().unwrap().property::<i32>("pt"), -1);
    // C's encoder (one block) and our decoder: single losses come back.
    let red = run(&format!("rtpredenc pt={RED_PT} distance=1"), &media);
    let out = run(
        &format!("rtpreddec2 pt={RED_PT}"),
        &drop_seqs(&red, &[505, 530]),
    );
    assert_packets(&out, &media, "single losses from C's one block");
}

#[test]
fn red_junk_is_counted_never_fatal() {
    common::init();
    let mut h = gst_check::Harness::new_parse(&format!("rtpreddec2 pt={RED_PT}"));
    h.set_src_caps_str("application/x-rtp");
    let mut rng = common::impair::Rng::new(3);
    for i in 0..1000u16 {
        let len = (rng.unit() * 40.0) as usize;
        let payload: Vec<u8> = (0..len).map(|_| (rng.unit() * 256.0) as u8).collect();
        let p = common::rtp_packet(RED_PT, i, u32::from(i) * 160, SSRC, false, &payload);
        assert_eq!(
            h.push(gst::Buffer::from_mut_slice(p)),
            Ok(gst::FlowSuccess::Ok)
        );
    }
    while h.try_pull().is_some() {}
    let stats = h
        .find_element("rtpreddec2")
        .unwrap()
        .property::<gst::Structure>("stats");
    assert!(
        stats.get::<u64>("dropped-payload").unwrap() > 100,
        "{stats}"
    );
}
