// This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0.
// If a copy of the MPL was not distributed with this file, You can obtain one at
// https://mozilla.org/MPL/2.0/.

//! `rtph265pay2` / `rtph265depay2` with real peers: x265enc streams (8-bit and 10-bit)
//! through our elements and the C ones into avdec_h265, compared frame by frame with decoding
//! the elementary stream directly; packets byte-identical to `rtph265pay`; ffmpeg both ways
//! over UDP; DONL ordering, PACI, loss and hostile packets.

use std::time::Duration;

use gst::prelude::*;
use rtp2_core::h265::params::{HevcDecoderConfig, parse_sprop_value, sdp_profile_tier_level};

mod common;

use common::video::{Stream, frame_hashes, nals_of, through};

const FRAMES: u32 = 30;
const W: usize = 320;
const H: usize = 240;

/// `frames` frames of a moving test pattern encoded by `encoder` from raw `format`, as
/// byte-stream/au.
fn encode_frames(encoder: &str, format: &str, frames: u32) -> Stream {
    common::init();
    let collected = common::run_collect(
        &format!(
            "videotestsrc num-buffers={frames} pattern=ball ! \
             video/x-raw,width={W},height={H},format={format},framerate=30/1 ! {encoder} ! \
             h265parse ! video/x-h265,stream-format=byte-stream,alignment=au ! \
             appsink name=sink sync=false"
        ),
        "sink",
        Duration::from_secs(120),
    );
    assert!(collected.buffers.len() >= frames as usize);
    Stream {
        buffers: collected.buffers,
        caps: collected.caps.expect("caps"),
    }
}

fn encode(encoder: &str) -> Stream {
    encode_frames(encoder, "I420", FRAMES)
}

/// The stream in another stream-format/alignment, as h265parse makes it.
fn convert(stream: &Stream, format: &str, alignment: &str) -> Stream {
    through(
        &format!(
            "h265parse ! capsfilter caps=\"video/x-h265,stream-format={format},alignment={alignment}\""
        ),
        stream,
    )
}

/// Decoded frames of `stream` after `launch` (which ends in H.265), by avdec_h265.
fn decoded(launch: &str, stream: &Stream) -> Vec<u64> {
    let prefix = if launch.is_empty() {
        String::new()
    } else {
        format!("{launch} ! ")
    };
    frame_hashes(&through(&format!("{prefix}h265parse ! avdec_h265"), stream).buffers)
}

/// NAL unit type of a two-byte header.
fn nal_type(header: &[u8]) -> u8 {
    (header[0] >> 1) & 0x3f
}

/// NAL unit types of every packet, looking inside aggregation packets and FU starts.
fn nal_types(packets: &[gst::Buffer]) -> Vec<u8> {
    let mut types = Vec::new();
    for p in packets {
        let f = common::rtp_fields(p);
        match nal_type(&f.payload) {
            48 => {
                let mut pos = 2;
                while pos + 3 < f.payload.len() {
                    let size = u16::from_be_bytes([f.payload[pos], f.payload[pos + 1]]) as usize;
                    types.push(nal_type(&f.payload[pos + 2..]));
                    pos += 2 + size;
                }
            }
            49 if f.payload[2] & 0x80 != 0 => types.push(f.payload[2] & 0x3f),
            49 => {}
            t => types.push(t),
        }
    }
    types
}

/// 8-bit and 10-bit x265 streams, every input format and alignment, MTU and aggregate mode:
/// ours → C depayloader, C payloader → ours, ours → ours; the decoded frames equal decoding
/// the stream directly. Then every output format of our depayloader.
#[test]
fn decoded_frames_are_identical_through_every_path() {
    for (name, format, encoder) in [
        (
            "main",
            "I420",
            "x265enc speed-preset=ultrafast key-int-max=10",
        ),
        (
            "main10 b-frames",
            "I420_10LE",
            "x265enc speed-preset=fast option-string=bframes=2 key-int-max=15",
        ),
    ] {
        let es = encode_frames(encoder, format, FRAMES);
        let reference = decoded("", &es);
        assert_eq!(reference.len(), FRAMES as usize, "{name}: reference decode");
        let inputs = [
            ("byte-stream/au", es.clone()),
            ("byte-stream/nal", convert(&es, "byte-stream", "nal")),
            ("hvc1/au", convert(&es, "hvc1", "au")),
            ("hev1/au", convert(&es, "hev1", "au")),
        ];
        for (input_format, input) in &inputs {
            for (mtu, aggregate) in [
                (400, "none"),
                (1200, "zero-latency"),
                (9000, "max"),
                (400, "max"),
            ] {
                let pay = format!("rtph265pay2 mtu={mtu} aggregate-mode={aggregate}");
                let what = format!("{name}, {input_format}, mtu {mtu}, {aggregate}");
                assert_eq!(
                    decoded(&format!("{pay} ! rtph265depay"), input),
                    reference,
                    "ours → C: {what}"
                );
                assert_eq!(
                    decoded(&format!("{pay} ! rtph265depay2"), input),
                    reference,
                    "ours → ours: {what}"
                );
                if !input_format.starts_with("hev1") {
                    let c_pay = format!("rtph265pay mtu={mtu} aggregate-mode={aggregate}");
                    assert_eq!(
                        decoded(&format!("{c_pay} ! rtph265depay2"), input),
                        reference,
                        "C → ours: {what}"
                    );
                }
            }
        }
        for caps in [
            "stream-format=hvc1,alignment=au",
            "stream-format=hev1,alignment=au",
            "stream-format=byte-stream,alignment=nal",
            "stream-format=byte-stream,alignment=au",
        ] {
            let launch =
                format!("rtph265pay2 ! rtph265depay2 ! capsfilter caps=\"video/x-h265,{caps}\"");
            assert_eq!(decoded(&launch, &es), reference, "{name}: output {caps}");
        }
    }
}

/// Single NAL unit packets and fragmentation units are byte-identical to `rtph265pay`'s
/// (headers, FU headers, markers, timestamps), for several MTUs.
#[test]
fn packets_are_byte_identical_to_the_c_payloader() {
    let es = encode("x265enc speed-preset=ultrafast key-int-max=10");
    for mtu in [400, 1200, 9000] {
        let props = format!("mtu={mtu} seqnum-offset=0 timestamp-offset=0 ssrc=1");
        let ours = through(&format!("rtph265pay2 {props}"), &es);
        let theirs = through(&format!("rtph265pay {props}"), &es);
        let ours: Vec<common::RtpFields> = ours.buffers.iter().map(common::rtp_fields).collect();
        let theirs: Vec<common::RtpFields> =
            theirs.buffers.iter().map(common::rtp_fields).collect();
        assert_eq!(ours.len(), theirs.len(), "mtu {mtu}");
        for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(o, t, "packet {i}, mtu {mtu}");
            assert!(o.payload.len() + 12 <= mtu as usize);
        }
    }
}

/// RFC 7798 §4.1: the packets of an access unit share its timestamp, the last has the
/// marker; aggregation packets never cross access units; the caps carry sprop-vps/sps/pps
/// and profile-id, tier-flag, level-id (§7.1) taken from the parameter sets.
#[test]
fn access_units_markers_and_sdp_parameters() {
    let es = encode("x265enc speed-preset=ultrafast key-int-max=10");
    let out = through("rtph265pay2 mtu=300 aggregate-mode=max", &es);
    let fields: Vec<common::RtpFields> = out.buffers.iter().map(common::rtp_fields).collect();
    let mut markers = 0;
    for pair in fields.windows(2) {
        if pair[0].marker {
            markers += 1;
            assert_ne!(pair[0].timestamp, pair[1].timestamp, "new AU after marker");
        } else {
            assert_eq!(pair[0].timestamp, pair[1].timestamp, "same AU until marker");
        }
    }
    assert!(fields.last().unwrap().marker);
    assert_eq!(markers + 1, FRAMES as usize);
    assert!(
        fields.iter().any(|f| nal_type(&f.payload) == 48),
        "aggregation packets are used"
    );
    let s = out.caps.structure(0).unwrap();
    let set = |field: &str| parse_sprop_value(s.get::<&str>(field).unwrap()).unwrap();
    let (vps, sps, pps) = (set("sprop-vps"), set("sprop-sps"), set("sprop-pps"));
    assert_eq!(nal_type(&vps[0]), 32);
    assert_eq!(nal_type(&sps[0]), 33);
    assert_eq!(nal_type(&pps[0]), 34);
    let (profile, tier, level) = sdp_profile_tier_level(&sps[0]).unwrap();
    assert_eq!(profile, "1", "x265 8-bit is Main");
    assert_eq!(s.get::<&str>("profile-id").unwrap(), profile);
    assert_eq!(s.get::<&str>("tier-flag").unwrap(), tier);
    assert_eq!(s.get::<&str>("level-id").unwrap(), level);
    // The parameter sets are those of the stream.
    let sent = nals_of(&es.buffers);
    for p in vps.iter().chain(&sps).chain(&pps) {
        assert!(sent.contains(p));
    }
}

/// The hvc1 stream without in-band parameter sets (they stay in codec_data).
fn without_parameter_sets(hvc1: &Stream) -> Stream {
    let buffers = hvc1
        .buffers
        .iter()
        .map(|b| {
            let map = b.map_readable().unwrap();
            let mut out = Vec::new();
            for r in rtp2_core::nal::length_prefixed_nal_ranges(&map, 4).unwrap() {
                if !matches!(nal_type(&map[r.start..]), 32..=34) {
                    rtp2_core::nal::push_length_prefixed(&mut out, &map[r]);
                }
            }
            let mut nb = gst::Buffer::from_mut_slice(out);
            b.copy_into(
                nb.get_mut().unwrap(),
                gst::BufferCopyFlags::TIMESTAMPS | gst::BufferCopyFlags::FLAGS,
                ..,
            )
            .unwrap();
            nb
        })
        .collect();
    Stream {
        buffers,
        caps: hvc1.caps.clone(),
    }
}

/// hvc1 input with VPS/SPS/PPS only in codec_data: config-interval=-1 puts them before every
/// IRAP, 0 never; a force-key-unit with all-headers makes the next IRAP carry them. The
/// depayloader, given the SDP parameter sets, makes such a stream decodable on its own.
#[test]
fn config_interval_forced_headers_and_sprop_insertion() {
    let es = encode("x265enc speed-preset=ultrafast key-int-max=10");
    let hvc1 = without_parameter_sets(&convert(&es, "hvc1", "au"));
    let count = |types: &[u8], t: u8| types.iter().filter(|x| **x == t).count();
    let irap = |types: &[u8]| types.iter().filter(|t| (16..=23).contains(*t)).count();
    let every = nal_types(&through("rtph265pay2 config-interval=-1", &hvc1).buffers);
    assert!(irap(&every) >= 3);
    for t in 32..=34 {
        assert_eq!(count(&every, t), irap(&every), "type {t} before every IRAP");
    }
    let never = nal_types(&through("rtph265pay2 config-interval=0", &hvc1).buffers);
    assert_eq!(count(&never, 32) + count(&never, 33) + count(&never, 34), 0);

    let mut h = gst_check::Harness::new("rtph265pay2");
    h.set_src_caps(hvc1.caps.clone());
    let mut packets = Vec::new();
    for (i, b) in hvc1.buffers.iter().enumerate() {
        if i == 12 {
            h.push_upstream_event(
                gst_video::UpstreamForceKeyUnitEvent::builder()
                    .all_headers(true)
                    .build(),
            );
        }
        h.push(b.clone()).unwrap();
        while let Some(p) = h.try_pull() {
            packets.push(p);
        }
    }
    let forced = nal_types(&packets);
    assert_eq!(count(&forced, 33), 1, "only the IRAP after the event");

    // Our depayloader inserts the parameter sets from caps before the first IRAP.
    let rtp = through("rtph265pay2 config-interval=0", &hvc1);
    let reference = decoded("", &es);
    assert_eq!(
        decoded(
            "rtph265depay2",
            &Stream {
                buffers: rtp.buffers,
                caps: rtp.caps
            }
        ),
        reference
    );
}

/// A codec_data record made by our depayloader for hvc1 output parses, and holds the stream's
/// parameter sets.
#[test]
fn hvc1_output_carries_codec_data() {
    let es = encode("x265enc speed-preset=ultrafast");
    let out = through(
        "rtph265pay2 ! rtph265depay2 ! capsfilter caps=video/x-h265,stream-format=hvc1",
        &es,
    );
    let s = out.caps.structure(0).unwrap();
    let codec_data = s.get::<gst::Buffer>("codec_data").unwrap();
    let record = HevcDecoderConfig::parse(&codec_data.map_readable().unwrap()).unwrap();
    assert_eq!(record.length_size, 4);
    let sent = nals_of(&es.buffers);
    for set in record.vps.iter().chain(&record.sps).chain(&record.pps) {
        assert!(sent.contains(set));
    }
    assert_eq!(
        (record.vps.len(), record.sps.len(), record.pps.len()),
        (1, 1, 1)
    );
}

/// Losing the first, a middle or the last fragment of a NAL unit, or an aggregation packet:
/// nothing corrupted reaches the decoder, the next output is DISCONT, a keyframe is
/// requested upstream, and wait-for-keyframe holds delta units back until the next IRAP.
#[test]
fn loss_never_outputs_a_corrupted_nal() {
    let es = encode("x265enc speed-preset=ultrafast key-int-max=10");
    let sent_nals = nals_of(&es.buffers);
    let packets = through(
        "rtph265pay2 mtu=300 aggregate-mode=max config-interval=-1",
        &es,
    );
    let kinds: Vec<(u8, u8)> = packets
        .buffers
        .iter()
        .map(|p| {
            let f = common::rtp_fields(p);
            (nal_type(&f.payload), f.payload.get(2).copied().unwrap_or(0))
        })
        .collect();
    let skip = kinds.len() / 3;
    let find = |from: usize, pred: &dyn Fn(&(u8, u8)) -> bool| {
        from + kinds[from..].iter().position(pred).unwrap()
    };
    let fu_start = find(skip, &|(t, h)| *t == 49 && h & 0x80 != 0);
    let fu_middle = find(fu_start + 1, &|(t, h)| *t == 49 && h & 0xc0 == 0);
    let fu_end = find(fu_start, &|(t, h)| *t == 49 && h & 0x40 != 0);
    let ap = find(skip, &|(t, _)| *t == 48);
    for (what, lost) in [
        ("first fragment", fu_start),
        ("middle fragment", fu_middle),
        ("last fragment", fu_end),
        ("aggregation packet", ap),
    ] {
        common::video::check_loss("rtph265depay2", &packets, lost, &sent_nals, what);
    }
}

/// Hostile packets: a warning and a counted drop each, and the stream goes on decoding.
#[test]
fn hostile_packets_are_dropped_and_counted() {
    let es = encode("x265enc speed-preset=ultrafast");
    let packets = through("rtph265pay2 mtu=1400", &es);
    let first = common::rtp_fields(&packets.buffers[0]);
    let hostile: Vec<Vec<u8>> = vec![
        vec![0x82, 0x01, 1],                // forbidden bit
        vec![0x66, 0x01, 1],                // type 51
        vec![0x60, 0x01, 0, 0, 0x40],       // AP with a zero size
        vec![0x60, 0x01, 0, 200, 0x40, 1],  // AP size past the end
        vec![0x62, 0x01, 0x13, 1, 2],       // FU without start
        vec![0x62, 0x01, 0xd3, 1, 2],       // FU with start and end
        vec![0x64, 0x01, 0x64, 0x00, 0, 0], // PACI nesting PACI
        vec![0x02],                         // shorter than the payload header
    ];
    let mut h = gst_check::Harness::new_parse("rtph265depay2 name=d ! h265parse ! avdec_h265");
    h.set_src_caps(packets.caps.clone());
    let mut seq = first.seq.wrapping_sub(hostile.len() as u16);
    for payload in &hostile {
        let p = common::rtp_packet(
            96,
            seq,
            first.timestamp.wrapping_sub(3000),
            first.ssrc,
            true,
            payload,
        );
        h.push(gst::Buffer::from_mut_slice(p)).unwrap();
        seq = seq.wrapping_add(1);
    }
    for p in &packets.buffers {
        h.push(p.clone()).unwrap();
    }
    h.push_event(gst::event::Eos::new());
    let mut frames = 0;
    while h.try_pull().is_some() {
        frames += 1;
    }
    assert_eq!(frames, FRAMES as usize, "decodes after hostile packets");
    let bin = h.element().unwrap().downcast::<gst::Bin>().unwrap();
    let stats = bin
        .by_name("d")
        .unwrap()
        .property::<gst::Structure>("stats");
    assert_eq!(
        stats.get::<u64>("dropped-payload").unwrap(),
        hostile.len() as u64,
        "{stats}"
    );
}

/// Crafted packets with DONL/DOND fields (`sprop-max-don-diff` > 0) sent out of decoding
/// order come out in decoding order; a PACI packet's payload is extracted.
#[test]
fn donl_ordering_and_paci_through_the_element() {
    common::init();
    let mut h = gst_check::Harness::new("rtph265depay2");
    h.set_src_caps(
        gst::Caps::builder("application/x-rtp")
            .field("media", "video")
            .field("clock-rate", 90000i32)
            .field("encoding-name", "H265")
            .field("sprop-max-don-diff", "2")
            .field("sprop-depack-buf-nalus", "4")
            .build(),
    );
    // One access unit of four slices (TRAIL_R, type 1): DON 2, then an AP of DON 0 and 1,
    // then a fragmented NAL unit of DON 3; decoding order is 0, 1, 2, 3.
    let payloads: Vec<Vec<u8>> = vec![
        vec![0x02, 0x01, 0, 2, 0xc2],
        vec![
            0x60, 0x01, 0, 0, 0, 3, 0x02, 0x01, 0xc0, 0, 0, 3, 0x02, 0x01, 0xc1,
        ],
        vec![0x62, 0x01, 0x81, 0, 3, 0xc3],
        vec![0x62, 0x01, 0x41, 0xc4],
    ];
    for (i, payload) in payloads.iter().enumerate() {
        let marker = i + 1 == payloads.len();
        let p = common::rtp_packet(96, 100 + i as u16, 9000, 7, marker, payload);
        h.push(gst::Buffer::from_mut_slice(p)).unwrap();
    }
    h.push_event(gst::event::Eos::new());
    let mut outs = Vec::new();
    while let Some(b) = h.try_pull() {
        outs.push(b);
    }
    let nals = nals_of(&outs);
    assert_eq!(
        nals,
        vec![
            vec![0x02, 0x01, 0xc0],
            vec![0x02, 0x01, 0xc1],
            vec![0x02, 0x01, 0xc2],
            vec![0x02, 0x01, 0xc3, 0xc4]
        ]
    );

    let mut h = gst_check::Harness::new("rtph265depay2");
    h.set_src_caps(
        gst::Caps::builder("application/x-rtp")
            .field("media", "video")
            .field("clock-rate", 90000i32)
            .field("encoding-name", "H265")
            .build(),
    );
    // PACI with cType 1 and a 2-byte payload header extension, then the slice data.
    let p = common::rtp_packet(
        96,
        1,
        0,
        7,
        true,
        &[0x64, 0x01, 0x02, 0x20, 0xaa, 0xbb, 5, 6],
    );
    h.push(gst::Buffer::from_mut_slice(p)).unwrap();
    h.push_event(gst::event::Eos::new());
    let out = h.try_pull().expect("the PACI payload comes out");
    assert_eq!(nals_of(&[out]), vec![vec![0x02, 0x01, 5, 6]]);
}

/// A `sprop-max-don-diff` outside what RFC 7798 §7.1 allows (0–32767) says nothing about
/// DONL fields (issue 24, item 5): a stream without them (7 pictures of x265enc, payloaded by
/// the C rtph265pay) whose caps say `sprop-max-don-diff=40000` gives the 7 pictures from ours
/// as from the C rtph265depay, the same decoded frames, and ours posts one warning.
#[test]
fn out_of_range_max_don_diff_is_ignored_like_the_c_depayloader() {
    let stream = encode_frames("x265enc", "I420", 7);
    let payloaded = through("rtph265pay", &stream);
    for value in ["40000".to_send_value(), 32768i32.to_send_value()] {
        let mut caps = payloaded.caps.clone();
        caps.make_mut()
            .structure_mut(0)
            .unwrap()
            .set_value("sprop-max-don-diff", value.clone());
        let packets = Stream {
            buffers: payloaded.buffers.clone(),
            caps,
        };
        let depayload = |depay: &str| {
            through(
                &format!(
                    "{depay} ! capsfilter \
                     caps=\"video/x-h265,stream-format=byte-stream,alignment=au\""
                ),
                &packets,
            )
        };
        let c = depayload("rtph265depay");
        let ours = depayload("rtph265depay2");
        assert_eq!(c.buffers.len(), 7, "C: 7 pictures");
        assert_eq!(ours.buffers.len(), 7, "ours: 7 pictures ({value:?})");
        let frames = decoded("", &ours);
        assert_eq!(frames.len(), 7);
        assert_eq!(frames, decoded("", &c), "same pictures as C");
    }

    let mut h = gst_check::Harness::new("rtph265depay2");
    let bus = gst::Bus::new();
    h.element().unwrap().set_bus(Some(&bus));
    let mut caps = payloaded.caps.clone();
    caps.make_mut()
        .structure_mut(0)
        .unwrap()
        .set("sprop-max-don-diff", "40000");
    h.set_src_caps(caps);
    let warnings: Vec<String> =
        std::iter::from_fn(|| bus.pop_filtered(&[gst::MessageType::Warning]))
            .map(|m| match m.view() {
                gst::MessageView::Warning(w) => format!("{} {:?}", w.error(), w.debug()),
                _ => String::new(),
            })
            .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("sprop-max-don-diff=40000"),
        "{warnings:?}"
    );
}

/// ffmpeg receives our stream over UDP on 127.0.0.1 from an SDP made from our caps and
/// decodes every frame, pixel-identical to avdec_h265 decoding the elementary stream
/// (10 more frames follow, because ffmpeg completes a frame when the next one starts).
#[test]
fn ffmpeg_decodes_our_stream() {
    common::init();
    // Without B-frames: ffmpeg's raw output drops frames whose RTP timestamps go backwards.
    let es = encode_frames(
        "x265enc speed-preset=ultrafast key-int-max=30 option-string=bframes=0",
        "I420",
        FRAMES + 10,
    );
    let reference = decoded("", &es);
    let caps = through("rtph265pay2 pt=96", &es).caps;
    let s = caps.structure(0).unwrap();
    let port = common::free_udp_port();
    let field = |f: &str| s.get::<&str>(f).unwrap().to_string();
    let sdp = format!(
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=rtp2 H.265\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=video {port} RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\n\
         a=fmtp:96 profile-id={};tier-flag={};level-id={};sprop-vps={};sprop-sps={};sprop-pps={}\r\n",
        field("profile-id"),
        field("tier-flag"),
        field("level-id"),
        field("sprop-vps"),
        field("sprop-sps"),
        field("sprop-pps"),
    );
    let receiver = common::ffmpeg_receive_rtp_with(
        &sdp,
        &["-f", "rawvideo", "-pix_fmt", "yuv420p"],
        Duration::from_secs(30),
    );
    let first = es
        .buffers
        .iter()
        .filter_map(|b| b.dts_or_pts())
        .min()
        .unwrap();
    let rebased: Vec<gst::Buffer> = es
        .buffers
        .iter()
        .map(|b| {
            let mut b = b.clone();
            let m = b.make_mut();
            m.set_pts(m.pts().map(|t| t - first));
            m.set_dts(m.dts().map(|t| t - first));
            b
        })
        .collect();
    common::push_collect(
        &format!(
            "appsrc name=src ! rtph265pay2 pt=96 config-interval=-1 ! tee name=t \
             ! queue ! udpsink host=127.0.0.1 port={port} sync=true t. ! queue ! appsink name=sink"
        ),
        &es.caps.to_string(),
        rebased,
        "sink",
        None,
        Duration::from_secs(30),
    );
    let result = receiver.finish();
    let got = result
        .decoded
        .chunks_exact(W * H * 3 / 2)
        .map(|f| gst::Buffer::from_slice(f.to_vec()))
        .collect::<Vec<_>>();
    assert!(
        got.len() >= FRAMES as usize,
        "{} frames; ffmpeg stderr: {}",
        got.len(),
        result.stderr
    );
    assert_eq!(
        frame_hashes(&got)[..FRAMES as usize],
        reference[..FRAMES as usize]
    );
}

/// ffmpeg sends HEVC with `-f rtp`; our depayloader decodes every frame.
#[test]
fn our_depayloader_decodes_ffmpeg() {
    common::init();
    let port = common::free_udp_port();
    let pipeline = gst::parse::launch(&format!(
        "udpsrc address=127.0.0.1 port={port} \
           caps=\"application/x-rtp,media=video,clock-rate=90000,encoding-name=H265,payload=96\" \
         ! rtpjitterbuffer latency=200 ! rtph265depay2 ! h265parse ! avdec_h265 \
         ! appsink name=sink sync=false"
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=30"])
        .args(["-frames:v", &FRAMES.to_string(), "-c:v", "libx265"])
        .args([
            "-preset",
            "ultrafast",
            "-x265-params",
            "log-level=error:keyint=15:bframes=0",
        ])
        .args(["-payload_type", "96", "-f", "rtp"])
        .arg(format!("rtp://127.0.0.1:{port}?pkt_size=1200"))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    let mut frames = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while frames < FRAMES as usize && std::time::Instant::now() < deadline {
        if sink
            .try_pull_sample(gst::ClockTime::from_mseconds(500))
            .is_some()
        {
            frames += 1;
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(frames, FRAMES as usize);
}

/// The payloader copies no NAL byte: payload memories point into the input buffer.
#[test]
fn payloader_shares_input_memory() {
    let es = encode("x265enc speed-preset=ultrafast");
    let input = es.buffers[0].clone();
    let map = input.map_readable().unwrap();
    let input_range = (map.as_ptr() as usize)..(map.as_ptr() as usize + map.len());
    let mut h = gst_check::Harness::new("rtph265pay2");
    h.element().unwrap().set_property("mtu", 500u32);
    h.set_src_caps(es.caps.clone());
    h.push(input.clone()).unwrap();
    let mut packets = 0;
    let mut shared = 0;
    while let Some(p) = h.try_pull() {
        packets += 1;
        for mem in p.iter_memories() {
            let m = mem.map_readable().unwrap();
            if input_range.contains(&(m.as_ptr() as usize)) {
                shared += 1;
            }
        }
    }
    assert!(packets > 3);
    assert_eq!(
        shared, packets,
        "every packet's payload is shared with the input"
    );
}

/// A new SPS mid-stream (another resolution) updates `sprop-sps` in the caps, and the
/// depayloader flags exactly the IRAP access units as keyframes.
#[test]
fn parameter_set_change_updates_caps_and_keyframes_are_flagged() {
    let small = encode("x265enc speed-preset=ultrafast key-int-max=10");
    let large = common::run_collect(
        "videotestsrc num-buffers=2 ! video/x-raw,width=640,height=480,format=I420,framerate=30/1 \
         ! x265enc speed-preset=ultrafast ! h265parse \
         ! video/x-h265,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false",
        "sink",
        Duration::from_secs(60),
    );
    let mut h = gst_check::Harness::new("rtph265pay2");
    h.set_src_caps(small.caps.clone());
    let sprop_sps = |h: &gst_check::Harness| {
        h.sinkpad().and_then(|p| p.current_caps()).and_then(|c| {
            c.structure(0)
                .and_then(|s| s.get::<String>("sprop-sps").ok())
        })
    };
    h.push(small.buffers[0].clone()).unwrap();
    let first = sprop_sps(&h).expect("sprop-sps after the first IRAP");
    h.push(large.buffers[0].clone()).unwrap();
    let second = sprop_sps(&h).expect("sprop-sps after the second IRAP");
    assert_ne!(first, second, "caps follow the new SPS");

    let irap_in = small
        .buffers
        .iter()
        .filter(|b| {
            let map = b.map_readable().unwrap();
            rtp2_core::nal::annexb_nal_ranges(&map)
                .into_iter()
                .any(|r| (16..=23).contains(&nal_type(&map[r])))
        })
        .count();
    let out = through("rtph265pay2 mtu=600 ! rtph265depay2", &small);
    assert_eq!(out.buffers.len(), FRAMES as usize);
    let keyframes = out
        .buffers
        .iter()
        .filter(|b| !b.flags().contains(gst::BufferFlags::DELTA_UNIT))
        .count();
    assert!(irap_in >= 3);
    assert_eq!(
        keyframes, irap_in,
        "IRAP access units, and only those, are keyframes"
    );
}
