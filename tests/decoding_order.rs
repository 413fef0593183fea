// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! Decoding-order transport: H.264 interleaved mode (MTAP16, MTAP24, FU-B; RFC 6184 §5.5,
//! §5.7.2, §5.8) and H.265 with DONL/DOND (APs, FUs, single NAL unit packets; RFC 7798 §4.4,
//! §6). Real multi-slice pictures (x264enc / x265enc, 4 slices per picture) are packetized
//! here from the RFCs' byte layouts (not by our code), sent in order and pairwise reordered,
//! and depayloaded: every access unit comes out whole and once, with the marker bit's
//! MARKER, and avdec decodes exactly the pictures of the elementary stream decoded directly.

use std::time::Duration;

mod common;

use common::video::{Stream, frame_hashes, nals_of, through};

const PICTURES: u32 = 60;
/// Timestamp step of 30 pictures/s at 90 kHz.
const STEP: u32 = 3000;
/// Largest NAL unit sent whole; bigger ones are fragmented.
const MAX_PAYLOAD: usize = 1100;

/// `PICTURES` pictures of a moving pattern, 4 slices each, as byte-stream/au.
fn encode(encoder: &str, parse: &str, media: &str) -> Stream {
    common::init();
    let collected = common::run_collect(
        &format!(
            "videotestsrc num-buffers={PICTURES} pattern=ball ! \
             video/x-raw,width=320,height=240,format=I420,framerate=30/1 ! {encoder} ! {parse} \
             ! {media},stream-format=byte-stream,alignment=au ! appsink name=sink sync=false"
        ),
        "sink",
        Duration::from_secs(60),
    );
    assert_eq!(collected.buffers.len(), PICTURES as usize);
    Stream {
        buffers: collected.buffers,
        caps: collected.caps.expect("caps"),
    }
}

/// A NAL unit with its decoding order number, timestamp and place in its access unit.
struct Unit {
    don: u16,
    ts: u32,
    nal: Vec<u8>,
    last_of_au: bool,
}

fn units(es: &Stream) -> Vec<Unit> {
    let mut out = Vec::new();
    for (i, au) in es.buffers.iter().enumerate() {
        let nals = nals_of(std::slice::from_ref(au));
        let count = nals.len();
        for (j, nal) in nals.into_iter().enumerate() {
            out.push(Unit {
                don: out.len() as u16,
                ts: i as u32 * STEP,
                nal,
                last_of_au: j + 1 == count,
            });
        }
    }
    out
}

/// (payload, RTP timestamp, marker) of each packet.
type Packets = Vec<(Vec<u8>, u32, bool)>;

/// RFC 6184 interleaved mode: small NAL units gathered in MTAPs (§5.7.2: header, DONB, then
/// per unit 16-bit NALU size of the NAL unit alone, DOND, 16- or 24-bit TS offset, NAL
/// unit), MTAP16 and MTAP24 in turn and spanning access units; big ones in FU-B (§5.8: FU
/// indicator, FU header, DON, data) then FU-A.
fn h264_interleaved(units: &[Unit]) -> Packets {
    let mut packets = Packets::new();
    let mut group: Vec<&Unit> = Vec::new();
    let flush = |group: &mut Vec<&Unit>, packets: &mut Packets| {
        let Some(first) = group.first() else { return };
        let mtap24 = packets.len() % 2 == 1;
        let nri = group.iter().map(|u| u.nal[0] & 0x60).max().unwrap_or(0);
        let mut p = vec![nri | if mtap24 { 27 } else { 26 }];
        p.extend_from_slice(&first.don.to_be_bytes());
        for u in group.iter() {
            p.extend_from_slice(&(u.nal.len() as u16).to_be_bytes());
            p.push(u.don.wrapping_sub(first.don) as u8);
            let offset = (u.ts - first.ts).to_be_bytes();
            p.extend_from_slice(if mtap24 { &offset[1..] } else { &offset[2..] });
            p.extend_from_slice(&u.nal);
        }
        let marker = group.last().is_some_and(|u| u.last_of_au);
        packets.push((p, first.ts, marker));
        group.clear();
    };
    for u in units {
        let size: usize = group.iter().map(|u| u.nal.len() + 6).sum();
        let span = group.first().map_or(0, |f| u.ts - f.ts);
        if size + u.nal.len() + 6 > MAX_PAYLOAD || span > 2 * STEP || group.len() >= 32 {
            flush(&mut group, &mut packets);
        }
        if u.nal.len() + 9 <= MAX_PAYLOAD {
            group.push(u);
            continue;
        }
        flush(&mut group, &mut packets);
        let chunks: Vec<&[u8]> = u.nal[1..].chunks(MAX_PAYLOAD).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let start = i == 0;
            let end = i + 1 == chunks.len();
            let kind = if start { 29 } else { 28 };
            let mut p = vec![(u.nal[0] & 0xe0) | kind];
            p.push(u8::from(start) << 7 | u8::from(end) << 6 | (u.nal[0] & 0x1f));
            if start {
                p.extend_from_slice(&u.don.to_be_bytes());
            }
            p.extend_from_slice(chunk);
            packets.push((p, u.ts, end && u.last_of_au));
        }
    }
    flush(&mut group, &mut packets);
    packets
}

/// RFC 7798 with DONL: NAL units of one access unit gathered in APs (§4.4.2: payload
/// header type 48, DONL then size and NAL unit, then DOND, size and NAL unit per unit), a
/// lone one in a single NAL unit packet (§4.4.1: header, DONL, rest), big ones in FUs
/// (§4.4.3: payload header type 49, FU header, DONL in the first, data).
fn h265_donl(units: &[Unit]) -> Packets {
    let mut packets = Packets::new();
    let mut group: Vec<&Unit> = Vec::new();
    let flush = |group: &mut Vec<&Unit>, packets: &mut Packets| {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            return;
        };
        let mut p;
        if group.len() == 1 {
            p = first.nal[..2].to_vec();
            p.extend_from_slice(&first.don.to_be_bytes());
            p.extend_from_slice(&first.nal[2..]);
        } else {
            let tid = group.iter().map(|u| u.nal[1] & 7).min().unwrap_or(1);
            p = vec![48 << 1, tid];
            let mut prev: Option<u16> = None;
            for u in group.iter() {
                match prev {
                    None => p.extend_from_slice(&u.don.to_be_bytes()),
                    Some(d) => p.push(u.don.wrapping_sub(d).wrapping_sub(1) as u8),
                }
                prev = Some(u.don);
                p.extend_from_slice(&(u.nal.len() as u16).to_be_bytes());
                p.extend_from_slice(&u.nal);
            }
        }
        packets.push((p, first.ts, last.last_of_au));
        group.clear();
    };
    for u in units {
        let size: usize = group.iter().map(|u| u.nal.len() + 5).sum();
        if group.first().is_some_and(|f| f.ts != u.ts) || size + u.nal.len() + 5 > MAX_PAYLOAD {
            flush(&mut group, &mut packets);
        }
        if u.nal.len() + 5 <= MAX_PAYLOAD {
            group.push(u);
            continue;
        }
        flush(&mut group, &mut packets);
        let chunks: Vec<&[u8]> = u.nal[2..].chunks(MAX_PAYLOAD).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let start = i == 0;
            let end = i + 1 == chunks.len();
            let mut p = vec![(u.nal[0] & 0x81) | (49 << 1), u.nal[1]];
            p.push(u8::from(start) << 7 | u8::from(end) << 6 | ((u.nal[0] >> 1) & 0x3f));
            if start {
                p.extend_from_slice(&u.don.to_be_bytes());
            }
            p.extend_from_slice(chunk);
            packets.push((p, u.ts, end && u.last_of_au));
        }
    }
    flush(&mut group, &mut packets);
    packets
}

/// The packets as RTP, in the given order with consecutive sequence numbers.
fn rtp_stream(packets: &Packets, caps: &str) -> Stream {
    let buffers = packets
        .iter()
        .enumerate()
        .map(|(seq, (payload, ts, marker))| {
            let rtp = common::rtp_packet(96, seq as u16, *ts, 11, *marker, payload);
            let mut b = gst::Buffer::from_mut_slice(rtp);
            b.get_mut()
                .unwrap()
                .set_pts(gst::ClockTime::from_nseconds(u64::from(*ts) * 100_000 / 9));
            b
        })
        .collect();
    Stream {
        buffers,
        caps: caps.parse().unwrap(),
    }
}

/// Swaps packets pairwise (1 0 3 2 ...): sent out of decoding order, DON puts them back.
/// The fragments of one NAL unit stay together and in order (RFC 6184 §5.8, RFC 7798
/// §4.4.3): they move as one.
fn pairwise_swapped(packets: &Packets, continues_fragment: fn(&[u8]) -> bool) -> Packets {
    let mut blocks: Vec<Packets> = Vec::new();
    for p in packets {
        match blocks.last_mut() {
            Some(block) if continues_fragment(&p.0) => block.push(p.clone()),
            _ => blocks.push(vec![p.clone()]),
        }
    }
    for pair in blocks.chunks_mut(2) {
        pair.reverse();
    }
    blocks.concat()
}

/// An FU-A without the start bit.
fn h264_continuation(p: &[u8]) -> bool {
    p[0] & 0x1f == 28 && p[1] & 0x80 == 0
}

/// An H.265 FU without the start bit.
fn h265_continuation(p: &[u8]) -> bool {
    (p[0] >> 1) & 0x3f == 49 && p[2] & 0x80 == 0
}

fn is_parameter_set(codec: &str, nal: &[u8]) -> bool {
    if codec == "h264" {
        matches!(nal[0] & 0x1f, 7 | 8)
    } else {
        matches!((nal[0] >> 1) & 0x3f, 32..=34)
    }
}

fn check(codec: &str, es: &Stream, packets: &Packets, caps: &str, what: &str) {
    let media = format!("video/x-{codec}");
    let decoder = format!("avdec_{codec}");
    let rtp = rtp_stream(packets, caps);
    let aus = through(
        &format!(
            "rtp{codec}depay2 ! capsfilter caps=\"{media},stream-format=byte-stream,alignment=au\""
        ),
        &rtp,
    );
    let sent: Vec<Vec<Vec<u8>>> = es
        .buffers
        .iter()
        .map(|b| nals_of(std::slice::from_ref(b)))
        .collect();
    let got: Vec<Vec<Vec<u8>>> = aus
        .buffers
        .iter()
        .map(|b| nals_of(std::slice::from_ref(b)))
        .collect();
    assert_eq!(got.len(), sent.len(), "{what}: one output per access unit");
    for (i, (g, s)) in got.iter().zip(&sent).enumerate() {
        // Parameter sets may have been put in front of a keyframe sent without them.
        let inserted = g.len().saturating_sub(s.len());
        let kinds = |au: &[Vec<u8>]| au.iter().map(|n| (n[0], n.len())).collect::<Vec<_>>();
        assert!(
            g[inserted..] == s[..] && g[..inserted].iter().all(|n| is_parameter_set(codec, n)),
            "{what}: access unit {i}: {:?} != {:?}",
            kinds(g),
            kinds(s)
        );
    }
    // The marker bit ends an access unit in every marked packet (whose last NAL unit ends
    // an access unit); an access unit that ends inside an MTAP has no marker of its own.
    let marked = aus
        .buffers
        .iter()
        .filter(|b| b.flags().contains(gst::BufferFlags::MARKER))
        .count();
    assert_eq!(marked, packets.iter().filter(|p| p.2).count(), "{what}");
    let reference = frame_hashes(&through(&decoder, es).buffers);
    assert_eq!(reference.len(), PICTURES as usize);
    let decoded = frame_hashes(&through(&format!("rtp{codec}depay2 ! {decoder}"), &rtp).buffers);
    assert!(
        decoded == reference,
        "{what}: {} decoded pictures, {} equal to the direct decode",
        decoded.len(),
        decoded
            .iter()
            .zip(&reference)
            .filter(|(a, b)| a == b)
            .count()
    );
}

/// Issue 15 items 2 and 3 for H.264: conformant MTAP16/MTAP24 and FU-B packets of 4-slice
/// pictures, in order and pairwise reordered, decode to the pictures of the stream.
#[test]
fn h264_interleaved_multi_slice_pictures_decode_as_the_stream() {
    let es = encode(
        "x264enc speed-preset=ultrafast bframes=0 key-int-max=30 option-string=slices=4",
        "h264parse",
        "video/x-h264",
    );
    let units = units(&es);
    assert!(units.len() >= 4 * PICTURES as usize, "4 slices per picture");
    let packets = h264_interleaved(&units);
    assert!(packets.iter().any(|p| p.0[0] & 0x1f == 26));
    assert!(packets.iter().any(|p| p.0[0] & 0x1f == 27));
    assert!(packets.iter().any(|p| p.0[0] & 0x1f == 29));
    let caps = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96,\
                packetization-mode=(string)2,sprop-interleaving-depth=(string)64";
    check("h264", &es, &packets, caps, "in order");
    let swapped = pairwise_swapped(&packets, h264_continuation);
    check("h264", &es, &swapped, caps, "pairwise reordered");
}

/// Issue 15 item 3 for H.265: APs, FUs and single NAL unit packets with DONL of 4-slice
/// pictures, in order and pairwise reordered, decode to the pictures of the stream.
#[test]
fn h265_donl_multi_slice_pictures_decode_as_the_stream() {
    let es = encode(
        "x265enc speed-preset=ultrafast key-int-max=30 option-string=slices=4",
        "h265parse",
        "video/x-h265",
    );
    let units = units(&es);
    assert!(units.len() >= 4 * PICTURES as usize, "4 slices per picture");
    let packets = h265_donl(&units);
    assert!(packets.iter().any(|p| (p.0[0] >> 1) & 0x3f == 48));
    assert!(packets.iter().any(|p| (p.0[0] >> 1) & 0x3f == 49));
    let caps = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H265,payload=96,\
                sprop-max-don-diff=(string)64,sprop-depack-buf-nalus=(string)128";
    check("h265", &es, &packets, caps, "in order");
    let swapped = pairwise_swapped(&packets, h265_continuation);
    check("h265", &es, &swapped, caps, "pairwise reordered");
}
