// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! ULPFEC (RFC 5109) against GStreamer's C elements: C encoder → our decoder and our encoder
//! → C decoder recover byte-exact what C → C recovers, at several loss patterns; our masks
//! beat C's on bursts; a lost FEC packet leaves no gap downstream; junk is counted, never
//! fatal. Media packets are written by hand (RFC 3550 §5.1), never by the code under test.

mod common;
mod fec_support;

use fec_support::*;
use gst::prelude::*;

fn init() {
    common::init();
}

/// Sequence numbers of the media packets at `indices` (0-based, in media order) in `stream`.
fn media_seqs(stream: &[Vec<u8>], indices: &[usize]) -> Vec<u16> {
    let media: Vec<u16> = stream
        .iter()
        .filter(|p| pt(p) == MEDIA_PT)
        .map(|p| seq(p))
        .collect();
    indices.iter().map(|&i| media[i]).collect()
}

fn fec_seqs(stream: &[Vec<u8>]) -> Vec<u16> {
    stream
        .iter()
        .filter(|p| pt(p) == FEC_PT)
        .map(|p| seq(p))
        .collect()
}

/// Loss patterns over 10 frames of 6 packets (indices of media packets): one loss in a frame,
/// one per FEC set in several frames, and across the sequence-number wrap.
const PATTERNS: &[&[usize]] = &[&[1], &[0, 9, 17], &[5, 6, 30, 40, 59], &[2, 4, 12, 14]];

#[test]
fn c_encoder_to_our_decoder_restores_the_input_as_c_to_c_recovers() {
    init();
    // Starts near the 16-bit wrap.
    let media = media(10, 6, 65_510);
    let stream = run(&format!("rtpulpfecenc pt={FEC_PT} percentage=50"), &media);
    assert!(
        fec_seqs(&stream).len() >= 30,
        "C encoder sent FEC: {}",
        fec_seqs(&stream).len()
    );
    for pattern in PATTERNS {
        let lost = media_seqs(&stream, pattern);
        let ours = ours_decodes(&stream, &lost);
        let c = c_recovers(&stream, &lost);
        assert_eq!(c.len(), pattern.len(), "C → C recovers pattern {pattern:?}");
        // Ours gives back exactly the encoder's input, numbering included (the FEC packets
        // taken out again), lost packets rebuilt in place.
        let mut sorted = ours.clone();
        sorted.sort_by_key(|p| seq(p).wrapping_sub(65_510));
        assert_packets(&sorted, &media, &format!("pattern {pattern:?}"));
        // And what C rebuilt is byte-exact what we rebuilt (C renumbers differently).
        for c_packet in &c {
            assert!(
                ours.iter().any(|p| without_seq(p) == without_seq(c_packet)),
                "pattern {pattern:?}: C's recovered packet is ours too"
            );
        }
    }
}

#[test]
fn our_encoder_to_c_decoder_recovers_what_c_to_c_recovers() {
    init();
    let media = media(10, 6, 1000);
    let c_stream = run(&format!("rtpulpfecenc pt={FEC_PT} percentage=50"), &media);
    for mask in ["contiguous", "interleaved", "random", "bursty"] {
        let ours_stream = run(
            &format!("rtpulpfecenc2 pt={FEC_PT} percentage=50 mask-type={mask}"),
            &media,
        );
        assert_eq!(
            fec_seqs(&ours_stream).len(),
            fec_seqs(&c_stream).len(),
            "same overhead"
        );
        for pattern in PATTERNS {
            let c_to_c = c_recovers(&c_stream, &media_seqs(&c_stream, pattern));
            let ours_to_c = c_recovers(&ours_stream, &media_seqs(&ours_stream, pattern));
            let originals: Vec<Vec<u8>> = pattern.iter().map(|&i| without_seq(&media[i])).collect();
            let strip = |v: &[Vec<u8>]| v.iter().map(|p| without_seq(p)).collect::<Vec<_>>();
            assert!(strip(&c_to_c) == originals, "C → C, {pattern:?}");
            assert!(strip(&ours_to_c) == originals, "{mask} → C, {pattern:?}");
        }
    }
}

#[test]
fn our_masks_recover_bursts_c_cannot() {
    init();
    let media = media(10, 6, 2000);
    // Two consecutive packets at the start of frames 2 and 5: one contiguous slice each.
    let burst = [12, 13, 30, 31];
    let c_stream = run(&format!("rtpulpfecenc pt={FEC_PT} percentage=50"), &media);
    let c_to_c = c_recovers(&c_stream, &media_seqs(&c_stream, &burst));
    assert!(
        c_to_c.is_empty(),
        "C cannot: two losses in one slice ({})",
        c_to_c.len()
    );
    // The default (bursty) and interleaved masks.
    for mask in ["", " mask-type=interleaved"] {
        let ours_stream = run(
            &format!("rtpulpfecenc2 pt={FEC_PT} percentage=50{mask}"),
            &media,
        );
        let ours = ours_decodes(&ours_stream, &media_seqs(&ours_stream, &burst));
        let mut sorted = ours;
        sorted.sort_by_key(|p| seq(p).wrapping_sub(2000));
        assert_packets(&sorted, &media, &format!("ours{mask} recovers the bursts"));
    }
}

/// Unequal protection: frames of 12 whose first 3 packets are `NON_DROPPABLE`, at
/// `percentage-important=50` (6 FEC packets a frame). The masks are libwebrtc's for that
/// case, read by hand from its tables: kMaskBursty3_3 (80, c0, 60) on the 3 important
/// packets, then kMaskBursty12_3 (92 40, c9 20, 74 90) on all 12. Losing all 3 important
/// packets and 2 others of a frame, ours rebuilds every one.
#[test]
fn important_packets_get_unequal_protection() {
    init();
    let media = media(4, 12, 4000);
    let mut h = gst_check::Harness::new_parse(&format!(
        "rtpulpfecenc2 pt={FEC_PT} percentage-important=50"
    ));
    h.set_src_caps_str(CAPS);
    let mut stream = Vec::new();
    for (i, p) in media.iter().enumerate() {
        let mut b = gst::Buffer::from_mut_slice(p.clone());
        if i % 12 < 3 {
            b.get_mut()
                .unwrap()
                .set_flags(gst::BufferFlags::NON_DROPPABLE);
        }
        h.push(b).unwrap();
        while let Some(o) = h.try_pull() {
            stream.push(o.map_readable().unwrap().to_vec());
        }
    }
    let fec: Vec<&Vec<u8>> = stream.iter().filter(|p| pt(p) == FEC_PT).collect();
    assert_eq!(fec.len(), 4 * 6);
    let masks: Vec<u16> = fec
        .iter()
        .map(|p| u16::from_be_bytes([p[12 + 12], p[12 + 13]]))
        .collect();
    for frame in masks.chunks(6) {
        assert_eq!(frame, [0x8000, 0xc000, 0x6000, 0x9240, 0xc920, 0x7490]);
    }
    // Frame 1: its important packets 12, 13, 14 and two others (16, 20) lost.
    let lost = media_seqs(&stream, &[12, 13, 14, 16, 20]);
    let mut ours = ours_decodes(&stream, &lost);
    ours.sort_by_key(|p| seq(p).wrapping_sub(4000));
    assert_packets(&ours, &media, "every packet back");
}

#[test]
fn lost_fec_packets_leave_no_gap_and_lost_media_does() {
    init();
    let media = media(10, 6, 3000);
    let stream = run(&format!("rtpulpfecenc pt={FEC_PT} percentage=50"), &media);
    let fec = fec_seqs(&stream);
    // Lose all three FEC packets of frames 3 and 6 (after the first two frames).
    let lost: Vec<u16> = fec[9..12].iter().chain(&fec[18..21]).copied().collect();
    let out = ours_decodes(&stream, &lost);
    assert_packets(&out, &media, "dense numbering, every media packet");
    // One unrecoverable media loss (two in one C slice) stays visible as a gap of two.
    let lost = media_seqs(&stream, &[24, 25]);
    let out = ours_decodes(&stream, &lost);
    let want: Vec<Vec<u8>> = media
        .iter()
        .enumerate()
        .filter(|(i, _)| ![24, 25].contains(i))
        .map(|(_, p)| p.clone())
        .collect();
    assert_packets(&out, &want, "a gap of two");
}

/// A lost media packet no arrived FEC packet covers (frame 4's first packet and frame 4's
/// first FEC packet, the one over it, both lost) cannot be told from a lost FEC packet: it
/// leaves no gap, and the packet after it is a DISCONT, so that the depayloader sees the
/// loss. A lost FEC packet alone (frame 3's last) leaves neither.
#[test]
fn unprovable_media_loss_is_a_discont_and_fec_loss_is_nothing() {
    init();
    let media = media(10, 6, 5000);
    let stream = run(&format!("rtpulpfecenc pt={FEC_PT} percentage=50"), &media);
    let fec = fec_seqs(&stream);
    let flags = |lost: &[u16]| -> Vec<(Vec<u8>, bool)> {
        let mut h = gst_check::Harness::new_parse(&format!("rtpulpfecdec2 pt={FEC_PT}"));
        h.set_src_caps_str(CAPS);
        for p in stream.iter().filter(|p| !lost.contains(&seq(p))) {
            h.push(gst::Buffer::from_mut_slice(p.clone())).unwrap();
        }
        h.push_event(gst::event::Eos::new());
        std::iter::from_fn(|| h.try_pull())
            .map(|b| {
                let discont = b.flags().contains(gst::BufferFlags::DISCONT);
                (b.map_readable().unwrap().to_vec(), discont)
            })
            .collect()
    };
    let lost = [media_seqs(&stream, &[24])[0], fec[12]];
    let out = flags(&lost);
    let disconts: Vec<usize> = (0..out.len()).filter(|&i| out[i].1).collect();
    assert_eq!(out.len(), media.len() - 1);
    // Packet 25 comes out where 24 would have (no gap), marked.
    let at = out
        .iter()
        .position(|(p, _)| without_seq(p) == without_seq(&media[25]))
        .unwrap();
    assert_eq!(disconts, [at]);
    assert_eq!(seq(&out[at].0), seq(&media[24]));
    // Frame 3's last FEC packet alone: everything, no DISCONT.
    let out = flags(&[fec[11]]);
    assert!(out.iter().all(|(_, d)| !d));
    let packets: Vec<Vec<u8>> = out.into_iter().map(|(p, _)| p).collect();
    assert_packets(&packets, &media, "lost FEC packet: nothing downstream");
}

/// A frame with a loss waits for its FEC packets; what it held and what was rebuilt go out
/// in order, each with the PTS of a packet of its own frame, not the later packet's that
/// released it; renumbered packets keep their PTS (the filter base copied none for a header
/// rewritten: `copy_region` from an offset other than 0 leaves PTS and DTS unset).
#[test]
fn held_and_rebuilt_packets_keep_their_frames_pts() {
    init();
    let media = media(10, 6, 9000);
    let stream = run(&format!("rtpulpfecenc2 pt={FEC_PT} percentage=50"), &media);
    let lost = media_seqs(&stream, &[13, 32]);
    let mut h = gst_check::Harness::new_parse(&format!("rtpulpfecdec2 pt={FEC_PT}"));
    h.set_src_caps_str(CAPS);
    // Input PTS: 10 ms per packet; the PTS of each RTP timestamp's packets.
    let mut frame_pts: std::collections::HashMap<[u8; 4], Vec<gst::ClockTime>> = Default::default();
    for (i, p) in stream.iter().enumerate() {
        let pts = gst::ClockTime::from_mseconds(10 * i as u64);
        frame_pts
            .entry(p[4..8].try_into().unwrap())
            .or_default()
            .push(pts);
        if lost.contains(&seq(p)) {
            continue;
        }
        let mut b = gst::Buffer::from_mut_slice(p.clone());
        b.get_mut().unwrap().set_pts(pts);
        h.push(b).unwrap();
    }
    h.push_event(gst::event::Eos::new());
    let out: Vec<(Vec<u8>, gst::ClockTime)> = std::iter::from_fn(|| h.try_pull())
        .map(|b| {
            let p = b.map_readable().unwrap().to_vec();
            let pts = b.pts().unwrap_or_else(|| panic!("seq {}: no PTS", seq(&p)));
            (p, pts)
        })
        .collect();
    let packets: Vec<Vec<u8>> = out.iter().map(|(p, _)| p.clone()).collect();
    assert_packets(&packets, &media, "in order, rebuilt in place");
    for (p, pts) in &out {
        let own = &frame_pts[&<[u8; 4]>::try_from(&p[4..8]).unwrap()];
        assert!(
            own.contains(pts),
            "seq {}: PTS {pts} not of its frame",
            seq(p)
        );
    }
}

#[test]
fn junk_is_counted_never_fatal() {
    init();
    let mut h = gst_check::Harness::new_parse(&format!("rtpulpfecdec2 pt={FEC_PT}"));
    h.set_src_caps_str("application/x-rtp"); // no ssrc: C would g_assert on a loss event
    let mut rng = common::impair::Rng::new(7);
    let mut pushed_media = 0;
    for i in 0..2000u32 {
        let len = (rng.unit() * 80.0) as usize;
        let mut junk: Vec<u8> = (0..len).map(|_| (rng.unit() * 256.0) as u8).collect();
        if i % 2 == 0 && junk.len() >= 12 {
            // Valid RTP header, broken FEC payload (or media, half the time).
            junk[0] = 0x80;
            junk[1] = if i % 4 == 0 { FEC_PT } else { MEDIA_PT };
            junk[2..4].copy_from_slice(&(i as u16).to_be_bytes());
            pushed_media += usize::from(i % 4 != 0);
        }
        assert_eq!(
            h.push(gst::Buffer::from_mut_slice(junk)),
            Ok(gst::FlowSuccess::Ok)
        );
        let lost = gst::event::CustomDownstream::new(
            gst::Structure::builder("GstRTPPacketLost")
                .field("seqnum", i)
                .build(),
        );
        h.push_event(lost);
    }
    let mut out = 0;
    while h.try_pull().is_some() {
        out += 1;
    }
    assert!(out >= pushed_media, "media passes: {out} of {pushed_media}");
    let stats = h
        .find_element("rtpulpfecdec2")
        .unwrap()
        .property::<gst::Structure>("stats");
    let invalid = stats.get::<u64>("dropped-invalid").unwrap();
    let payload = stats.get::<u64>("dropped-payload").unwrap();
    assert!(invalid > 500 && payload > 100, "{stats}");
}

/// Without a jitterbuffer upstream, reordering is not loss: a media packet that arrives late
/// (next to its neighbour, a frame and a half, or six frames after its place) leaves the
/// decoder in its place, and the stream is the encoder's input byte for byte (the late copy
/// of a packet already rebuilt from FEC is not sent twice).
#[test]
fn reordered_packets_leave_in_order_without_a_jitterbuffer() {
    init();
    let media = media(10, 6, 3000);
    let stream = run(&format!("rtpulpfecenc pt={FEC_PT} percentage=50"), &media);
    for (from, to) in [(14, 15), (20, 33), (20, 74)] {
        let mut reordered = stream.clone();
        let late = reordered.remove(from);
        reordered.insert(to, late);
        let out = run(&format!("rtpulpfecdec2 pt={FEC_PT}"), &reordered);
        assert_packets(&out, &media, &format!("packet {from} arriving at {to}"));
    }
}

/// Input in read-only memory (a writable buffer wrapping memory it may not write, as
/// `gst::Buffer::from_slice` makes) is renumbered on a copy, never in place: the same output
/// as from writable memory, and the input's bytes untouched.
#[test]
fn read_only_input_memory_is_renumbered_like_writable_input() {
    init();
    let launch = format!("rtpulpfecenc2 pt={FEC_PT} percentage=50");
    let input = media(4, 6, 65530);
    let expected = run(&launch, &input);
    assert!(fec_seqs(&expected).len() >= 8, "FEC packets were inserted");
    let mut h = gst_check::Harness::new_parse(&launch);
    h.set_src_caps_str(CAPS);
    let mut got = Vec::new();
    let shared: Vec<glib::Bytes> = input.iter().map(|p| glib::Bytes::from(&p[..])).collect();
    for (i, p) in shared.iter().enumerate() {
        let mut b = gst::Buffer::from_slice(p.clone());
        b.get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(10 * i as u64));
        h.push(b).unwrap();
        while let Some(b) = h.try_pull() {
            got.push(b.map_readable().unwrap().to_vec());
        }
    }
    h.push_event(gst::event::Eos::new());
    while let Some(b) = h.try_pull() {
        got.push(b.map_readable().unwrap().to_vec());
    }
    assert_eq!(got, expected);
    for (p, original) in shared.iter().zip(&input) {
        assert_eq!(&p[..], &original[..], "the input's memory is untouched");
    }
}
